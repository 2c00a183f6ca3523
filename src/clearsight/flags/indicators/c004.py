"""C004 — Short decision period."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C004Params(Params):
    threshold: int = Field(3, description="Days from the end of the submission period to the award.")
    procurement_methods: list[str] = Field(
        default_factory=lambda: ["open", "selective"], description="Procedures checked."
    )


INDICATOR = Indicator(
    code="C004",
    title="Short decision period",
    summary="The buyer decided suspiciously fast after bids closed.",
    subject_types=("process",),
    source="DIGIWHIST / opentender.eu integrity indicator 'decision period length'; GTI Corruption Risk Index.",
    params=C004Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The award came only {value:.0f} days after bids closed (threshold {threshold:.0f}).",
    },
)
