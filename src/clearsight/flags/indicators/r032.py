"""R032 — Bidders share a beneficial owner."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator
from clearsight.flags.ownership import OwnershipParams, ownership_snippets

INDICATOR = Indicator(
    code="R032",
    title="Bidders share a beneficial owner",
    summary="Two or more tenderers of a process have the same beneficial owner, directly or through companies.",
    subject_types=("process",),
    source=(
        "Open Contracting Partnership, Red Flags in Public Procurement (2024), R032; beneficial ownership as in "
        "the Beneficial Ownership Data Standard (Open Ownership)."
    ),
    params=OwnershipParams,
    snippets=ownership_snippets("p"),
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{tenderers_sharing} of its tenderers ({names}) have a beneficial owner in common: {owners}.",
    },
)
