"""C032 — Single bid priced at the estimate."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C032Params(Params):
    ratio: float = Field(0.98, description="Award / estimate at or above which the price counts as at the estimate.")


INDICATOR = Indicator(
    code="C032",
    title="Single bid priced at the estimate",
    summary="The only bidder's price is at or above the buyer's estimate.",
    subject_types=("process",),
    source="OCP Red Flags in Public Procurement (2024); GTI research on single bidding and prices close to estimates.",
    params=C032Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The only tenderer won at {value:.0%} of the estimate.",
    },
)
