"""C030 — Payment before contract signature."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="C030",
    title="Payment before contract signature",
    summary="A payment was made before the contract was signed.",
    subject_types=("process",),
    source="OCP Red Flags in Public Procurement (2024): payments made before the contract is signed.",
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "A payment was dated {value:.0f} days before the contract was signed.",
    },
)
