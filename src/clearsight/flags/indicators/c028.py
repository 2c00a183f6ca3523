"""C028 — Award above the estimate."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C028Params(Params):
    threshold: float = Field(0.1, description="Increase of the award value over the estimate (0.1 = 10%).")


INDICATOR = Indicator(
    code="C028",
    title="Award above the estimate",
    summary="The award is worth clearly more than the buyer estimated.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): award price above the estimated value; DIGIWHIST 'relative price'."
    ),
    params=C028Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The award ({award_value:,.2f}) is {value:.0%} above the estimate ({estimate:,.2f}).",
    },
)
