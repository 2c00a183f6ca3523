"""C017 — Award value not published."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="C017",
    title="Award value not published",
    summary="An active award does not say how much it is worth.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): missing award information; Open "
        "Contracting Data Standard guidance on award values."
    ),
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{value:.0f} active award(s) have no published value.",
    },
)
