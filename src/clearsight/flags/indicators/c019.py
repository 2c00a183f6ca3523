"""C019 — No tender documents published."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C019Params(Params):
    procurement_methods: list[str] = Field(
        default_factory=lambda: ["open", "selective"], description="Procedures that must publish documents."
    )


INDICATOR = Indicator(
    code="C019",
    title="No tender documents published",
    summary="A competitive procedure publishes no tender documents.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): tender documents not available; DIGIWHIST transparency indicators."
    ),
    params=C019Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "This {procurement_method} procedure publishes no tender documents.",
    },
)
