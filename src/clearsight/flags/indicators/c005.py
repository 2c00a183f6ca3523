"""C005 — Late contract signature."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C005Params(Params):
    threshold: int = Field(90, description="Days from the award to the contract signature.")


INDICATOR = Indicator(
    code="C005",
    title="Late contract signature",
    summary="The contract was signed long after the award.",
    subject_types=("process",),
    source="OCP Red Flags in Public Procurement (2024): delays between award and contract signature.",
    params=C005Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The contract was signed {value:.0f} days after the award (threshold {threshold:.0f}).",
    },
)
