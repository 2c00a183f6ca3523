"""C037 — Winning supplier owned by a politically exposed person."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params
from clearsight.flags.ownership import owner_chain, party_identifier_key


class C037Params(Params):
    max_depth: int = Field(
        3, ge=1, le=6, description="Ownership hops followed from a supplier up to a person (1: direct owners only)."
    )


def _snippets(params: C037Params) -> dict[str, str]:
    return {**owner_chain("owned", params.max_depth), "party_key": party_identifier_key("pa")}


INDICATOR = Indicator(
    code="C037",
    title="Winning supplier owned by a politically exposed person",
    summary="A supplier of an active award has a beneficial owner declared politically exposed.",
    subject_types=("process",),
    source=(
        "FATF Recommendations 12 and 24 (politically exposed persons; transparency of beneficial ownership); "
        "political exposure as declared in the Beneficial Ownership Data Standard (Open Ownership)."
    ),
    params=C037Params,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{suppliers} won this award and {owners} (politically exposed: {positions}) owns or controls it.",
    },
)
