"""C021 — Buyer's high share of non-open procedures."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C021Params(Params):
    threshold: float = Field(0.5, description="Share of the buyer's procedures that are limited or direct.")
    minimum_processes: int = Field(10, description="Procedures a buyer needs to be judged.")


INDICATOR = Indicator(
    code="C021",
    title="Buyer's high share of non-open procedures",
    summary="A buyer uses non-open procedures far more than others.",
    subject_types=("buyer",),
    source=(
        "GTI Corruption Risk Index (non-open procedure type, aggregated per buyer); OCP "
        "Red Flags in Public Procurement (2024)."
    ),
    params=C021Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "buyer": "{non_open} of {processes} procedures of {subject_id} ({value:.0%}) were limited or direct.",
    },
)
