"""C010 — Supplier dominates a buyer's spending."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C010Params(Params):
    threshold: float = Field(0.5, description="Share of the buyer's awarded value going to one supplier.")
    minimum_awards: int = Field(10, description="Awards a buyer needs to be judged.")


INDICATOR = Indicator(
    code="C010",
    title="Supplier dominates a buyer's spending",
    summary="One supplier receives most of a buyer's awarded value.",
    subject_types=("buyer",),
    source="OCP Red Flags in Public Procurement (2024): concentration of awards; DIGIWHIST 'supplier dependence'.",
    params=C010Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "buyer": "{top_supplier} received {value:.0%} of the value {subject_id} awarded across {awards} awards.",
    },
)
