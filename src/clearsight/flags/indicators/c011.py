"""C011 — Buyer's high single-bid share."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C011Params(Params):
    threshold: float = Field(0.3, description="Share of competitive procedures with a single tenderer.")
    minimum_processes: int = Field(10, description="Competitive procedures a buyer needs to be judged.")


INDICATOR = Indicator(
    code="C011",
    title="Buyer's high single-bid share",
    summary="An unusually large share of a buyer's competitive procedures received one bid.",
    subject_types=("buyer",),
    source=(
        "GTI Corruption Risk Index (single bidding, aggregated per buyer); OCP Red Flags in Public Procurement (2024)."
    ),
    params=C011Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "buyer": "{single} of {processes} competitive procedures of {subject_id} ({value:.0%}) received a single bid.",
    },
)
