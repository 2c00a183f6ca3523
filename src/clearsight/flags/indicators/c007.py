"""C007 — Many contract amendments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C007Params(Params):
    threshold: int = Field(3, description="Amendments to one contract.")


INDICATOR = Indicator(
    code="C007",
    title="Many contract amendments",
    summary="A contract was amended many times.",
    subject_types=("process",),
    source="OCP Red Flags in Public Procurement (2024): multiple contract amendments.",
    params=C007Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "A contract of this process was amended {value:.0f} times (threshold {threshold:.0f}).",
    },
)
