"""C022 — Year-end spending spike."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C022Params(Params):
    threshold: float = Field(0.25, description="Share of a buyer's awards dated in December.")
    minimum_awards: int = Field(20, description="Dated awards a buyer needs to be judged.")


INDICATOR = Indicator(
    code="C022",
    title="Year-end spending spike",
    summary="A buyer awards an unusual share of its contracts in December.",
    subject_types=("buyer",),
    source=(
        "OCP Red Flags in Public Procurement (2024): rushed spending at the end of the "
        "budget year; Liebman & Mahoney (2017), year-end spending."
    ),
    params=C022Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "buyer": "{december} of {awards} awards by {subject_id} ({value:.0%}) were made in December.",
    },
)
