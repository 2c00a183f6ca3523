"""N003 — Bidders from one suspicious supplier group."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class N003Params(Params):
    threshold: float = Field(0.5, ge=0, le=1, description="Group score (network_groups.score) that flags.")


INDICATOR = Indicator(
    code="N003",
    title="Bidders from one suspicious supplier group",
    summary="Two or more bidders belong to one supplier-network group that wins in turn or shares identifiers.",
    subject_types=("process",),
    source=(
        "OECD Guidelines for Fighting Bid Rigging in Public Procurement; network analysis of related bidders as in "
        "Wachs, Fazekas & Kertész (2021), corruption risk in contracting markets: a network science perspective."
    ),
    params=N003Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_network=True,
    explanations={
        "process": "{firms} bid here and belong to supplier group {group_id}, whose score is {value:.2f} "
        "(see clearsight network show {group_id}).",
    },
)
