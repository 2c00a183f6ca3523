"""C012 — Award equal to the estimate."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C012Params(Params):
    tolerance: float = Field(0.005, description="Relative difference below which the values are equal.")


INDICATOR = Indicator(
    code="C012",
    title="Award equal to the estimate",
    summary="The award value is (almost) exactly the buyer's estimate.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): award price equal to the estimated "
        "value (possible leak of the budget)."
    ),
    params=C012Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The award ({award_value:,.2f}) is within {threshold:.1%} of the estimate ({estimate:,.2f}).",
    },
)
