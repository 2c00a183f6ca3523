"""R036 — Lowest bid disqualified."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="R036",
    title="Lowest bid disqualified",
    summary="The lowest submitted bid was disqualified, although the award criterion is price.",
    subject_types=("process",),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R036; Cardinal R036.",
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The lowest bid ({value:,.2f}) was disqualified in a price-only procedure.",
    },
)
