"""R028 — Identical bid prices."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="R028",
    title="Identical bid prices",
    summary="Different tenderers submitted bids with exactly the same price.",
    subject_types=("process", "tenderer"),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R028; Cardinal R028.",
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{value:.0f} different bidders submitted exactly the same price.",
        "tenderer": "{subject_id} submitted a bid priced exactly like another bidder's ({amount:,.2f} {currency}).",
    },
)
