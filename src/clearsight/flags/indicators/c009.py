"""C009 — Round-number award."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C009Params(Params):
    round_to: int = Field(10000, description="An award value divisible by this is round.")
    minimum_value: float = Field(50000.0, description="Smaller awards are not judged.")


INDICATOR = Indicator(
    code="C009",
    title="Round-number award",
    summary="The awarded amount is a suspiciously round number.",
    subject_types=("process",),
    source="DIGIWHIST research on price rounding; OCP Red Flags in Public Procurement (2024): round-number prices.",
    params=C009Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The award value {value:,.0f} is a multiple of {threshold:,.0f}.",
    },
)
