"""C036 — Winner did not bid."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="C036",
    title="Winner did not bid",
    summary="A supplier won without appearing among the published bids.",
    subject_types=("process",),
    source="OCP Red Flags in Public Procurement (2024): contract awarded to a company that did not participate.",
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{suppliers} won although the published bids do not include them.",
    },
)
