"""C008 — Purchases split below a threshold."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C008Params(Params):
    threshold: float = Field(
        50000.0, description="The value above which a competitive procedure is required (main currency)."
    )
    lower_ratio: float = Field(
        0.9, description="Purchases from this share of the threshold up to it count as just below."
    )
    window_days: int = Field(30, description="Purchases within this many days of each other form a group.")
    minimum_count: int = Field(3, description="Purchases in a group needed to flag it.")


INDICATOR = Indicator(
    code="C008",
    title="Purchases split below a threshold",
    summary="A buyer made several purchases of the same kind just below a procurement threshold.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): contract splitting; EU Directive "
        "2014/24/EU article 5(3) forbids splitting to avoid thresholds."
    ),
    params=C008Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "One of {value:.0f} purchases of {cpv_division} by {buyer_id} within "
            "{window_days} days, each just below {threshold:,.0f}."
        ),
    },
)
