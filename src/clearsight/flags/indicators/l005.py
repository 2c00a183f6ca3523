"""L005 — Duplicate beneficiary."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, sql_literal


class L005Params(Params):
    threshold: float = Field(0.5, gt=0, le=1, description="Match probability from which two records are one person.")
    exclusive_programmes: list[tuple[str, str]] = Field(
        default_factory=list, description="Pairs of programmes one person may not receive together."
    )


def _snippets(params: L005Params) -> dict[str, str]:
    if not params.exclusive_programmes:
        return {"exclusive_pairs": "(SELECT NULL::VARCHAR AS first, NULL::VARCHAR AS second WHERE FALSE)"}
    rows = ", ".join(f"({sql_literal(a)}, {sql_literal(b)})" for a, b in params.exclusive_programmes)
    return {"exclusive_pairs": f"(SELECT * FROM (VALUES {rows}) AS pairs(first, second))"}


INDICATOR = Indicator(
    code="L005",
    title="Duplicate beneficiary",
    summary="One person is enrolled twice in a benefit programme, or in two programmes that exclude each other.",
    subject_types=("beneficiary",),
    source=(
        "Social-registry deduplication as in the World Bank's Sourcebook on the Foundations of Social Protection "
        "Delivery Systems (2020), chapter on integrated beneficiary registries."
    ),
    params=L005Params,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("beneficiaries~beneficiaries",),
    explanations={
        "beneficiary": "{name} ({programme}) is also enrolled as {other_records} in {other_programmes} (match "
        "probability {match_probability:.2f}).",
    },
)
