"""R030 — Late bid won."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="R030",
    title="Late bid won",
    summary="The winning bid was received after the end of the submission period.",
    subject_types=("process", "tenderer"),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R030; Cardinal R030.",
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "A winning bid was received {value:.0f} hours after the deadline ({deadline}).",
        "tenderer": "{subject_id} won with a bid received {hours_late:.0f} hours late.",
    },
)
