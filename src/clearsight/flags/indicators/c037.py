"""C037 — Winning supplier owned by a politically exposed person."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator
from clearsight.flags.ownership import OwnershipParams, ownership_snippets

INDICATOR = Indicator(
    code="C037",
    title="Winning supplier owned by a politically exposed person",
    summary="A supplier of an active award has a beneficial owner declared politically exposed.",
    subject_types=("process",),
    source=(
        "FATF Recommendations 12 and 24 (politically exposed persons; transparency of beneficial ownership); "
        "political exposure as declared in the Beneficial Ownership Data Standard (Open Ownership)."
    ),
    params=OwnershipParams,
    snippets=ownership_snippets("pa"),
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{suppliers} won this award and {owners} (politically exposed: {positions}) owns or controls it.",
    },
)
