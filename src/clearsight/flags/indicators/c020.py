"""C020 — Award without a published contract."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="C020",
    title="Award without a published contract",
    summary="An active award has no contract published.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): contract not published; Open "
        "Contracting Data Standard publication policy."
    ),
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{value:.0f} active award(s) have no published contract.",
    },
)
