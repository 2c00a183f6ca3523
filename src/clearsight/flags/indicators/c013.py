"""C013 — Suppliers sharing contact details."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="C013",
    title="Suppliers sharing contact details",
    summary="A supplier shares its address and telephone with another supplier.",
    subject_types=("tenderer",),
    source=(
        "OCP Red Flags in Public Procurement (2024): bidders with the same address or "
        "phone; UK HMRC-style related-party analysis."
    ),
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "tenderer": "{subject_id} shares address {street_address}, {locality} and telephone {telephone} with {others}.",
    },
)
