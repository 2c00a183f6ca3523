"""C018 — Supplier not identifiable."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="C018",
    title="Supplier not identifiable",
    summary="A winning supplier has no organisation identifier.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): suppliers that cannot be "
        "identified; Open Ownership and org-id.guide practice."
    ),
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{value:.0f} supplier(s) of active awards have no identifier (scheme and id) in the parties list.",
    },
)
