"""R032 — Bidders share a beneficial owner."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params
from clearsight.flags.ownership import owner_chain, party_identifier_key


class R032Params(Params):
    max_depth: int = Field(
        3, ge=1, le=6, description="Ownership hops followed from a tenderer up to a person (1: direct owners only)."
    )


def _snippets(params: R032Params) -> dict[str, str]:
    return {**owner_chain("owned", params.max_depth), "party_key": party_identifier_key("p")}


INDICATOR = Indicator(
    code="R032",
    title="Bidders share a beneficial owner",
    summary="Two or more tenderers of a process have the same beneficial owner, directly or through companies.",
    subject_types=("process",),
    source=(
        "Open Contracting Partnership, Red Flags in Public Procurement (2024), R032; beneficial ownership as in "
        "the Beneficial Ownership Data Standard (Open Ownership)."
    ),
    params=R032Params,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{tenderers_sharing} of its tenderers ({names}) have a beneficial owner in common: {owners}.",
    },
)
