"""R035 — All except winning bid disqualified."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class R035Params(Params):
    threshold: int = Field(1, ge=1, description="Minimum number of other tenderers whose bids were disqualified.")


INDICATOR = Indicator(
    code="R035",
    title="All except winning bid disqualified",
    summary="Every bid was disqualified except the one by the single tenderer who then won.",
    subject_types=("process", "tenderer"),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R035; Cardinal R035.",
    params=R035Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "Bids from {value:.0f} other tenderers were disqualified; only {winner}'s bid remained, and it won.",
        "tenderer": "{subject_id} won after every other bid was disqualified.",
    },
)
