"""R018 — Single bid received."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class R018Params(Params):
    procurement_methods: list[str] = Field(
        default_factory=lambda: ["open", "selective"], description="Competitive methods, where one bid is a flag."
    )


INDICATOR = Indicator(
    code="R018",
    title="Single bid received",
    summary="A competitive procedure received only one bid.",
    subject_types=("process",),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R018; Cardinal R018; "
    "Fazekas & Kocsis (2020), single bidding in the GTI corruption risk index.",
    params=R018Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "Only {value:.0f} tenderer took part in this {procurement_method} procedure.",
    },
)
