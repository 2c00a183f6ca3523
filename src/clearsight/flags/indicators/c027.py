"""C027 — New supplier wins a large contract."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C027Params(Params):
    percentile: float = Field(0.9, description="Award values at or above this percentile (main currency) are large.")
    minimum_sample: int = Field(50, description="Awards needed to compute the percentile.")


INDICATOR = Indicator(
    code="C027",
    title="New supplier wins a large contract",
    summary="A supplier's first contract in the data is one of the largest.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): newly created or inexperienced companies winning large contracts."
    ),
    params=C027Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "{supplier_id}'s first award in the data is worth {value:,.0f}, above the "
            "{threshold:,.0f} that marks large awards."
        ),
    },
)
