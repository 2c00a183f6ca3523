"""C002 — No call for tender published."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C002Params(Params):
    procurement_methods: list[str] = Field(
        default_factory=lambda: ["open", "selective"], description="Procedures that must publish a call."
    )


INDICATOR = Indicator(
    code="C002",
    title="No call for tender published",
    summary="A competitive procedure shows no published call for tenders.",
    subject_types=("process",),
    source=(
        "DIGIWHIST / opentender.eu integrity indicator 'call for tenders not published'; "
        "OCP Red Flags in Public Procurement (2024)."
    ),
    params=C002Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "This {procurement_method} procedure has neither a tender notice document nor a "
            "published submission period."
        ),
    },
)
