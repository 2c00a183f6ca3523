"""C035 — Consortium member also bids alone."""

from __future__ import annotations

from pathlib import Path

from clearsight.flags.base import Indicator

INDICATOR = Indicator(
    code="C035",
    title="Consortium member also bids alone",
    summary="A company bids alone and as part of a consortium in the same tender.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): bidders linked through joint bids; "
        "competition-authority guidance on complementary bidding."
    ),
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{members} bid both alone and within a consortium in this tender.",
    },
)
