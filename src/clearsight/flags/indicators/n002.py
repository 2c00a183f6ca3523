"""N002 — Bid rotation: the same bidders meet again and take turns to win."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class N002Params(Params):
    minimum_joint: int = Field(4, ge=2, description="Processes the same group of bidders must share to be judged.")
    minimum_winners: int = Field(2, ge=2, description="Different members of the group that won those processes.")


INDICATOR = Indicator(
    code="N002",
    title="Bid rotation: the same bidders meet again and take turns to win",
    summary="The same group of firms bid together in many processes and the wins go round among them.",
    subject_types=("process",),
    minimum_sample=4,
    source=(
        "OECD Guidelines for Fighting Bid Rigging in Public Procurement: bid rotation; "
        "Korea Fair Trade Commission's Bid Rigging Indicator Analysis System (winner rotation among regular bidders)."
    ),
    params=N002Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The same bidders ({members}) bid together in {value} processes and {distinct_winners} of them "
        "won in turn (wins: {wins}).",
    },
)
