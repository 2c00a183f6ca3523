"""C026 — Repeated winner with the same buyer."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C026Params(Params):
    threshold: float = Field(0.8, description="Share of a buyer's processes a supplier bid in that it won.")
    minimum_wins: int = Field(5, description="Wins with one buyer needed to be judged.")


INDICATOR = Indicator(
    code="C026",
    title="Repeated winner with the same buyer",
    summary="A supplier wins almost every time it bids for one buyer.",
    subject_types=("tenderer",),
    source="OCP Red Flags in Public Procurement (2024): the same supplier repeatedly wins contracts from one buyer.",
    params=C026Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "tenderer": "{subject_id} won {wins} of the {bids} processes it bid in for {buyer_id} ({value:.0%}).",
    },
)
