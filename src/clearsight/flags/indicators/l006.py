"""L006 — Ineligible beneficiary."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, sql_literal


class EligibilityRule(Params):
    min_age: int | None = Field(default=None, ge=0, description="Youngest eligible age, in whole years.")
    max_age: int | None = Field(default=None, ge=0, description="Oldest eligible age, in whole years.")
    max_income: float | None = Field(default=None, ge=0, description="Highest eligible declared income.")


class L006Params(Params):
    threshold: float = Field(0.5, gt=0, le=1, description="Match probability that finds a beneficiary's civil record.")
    as_of: date | None = Field(default=None, description="Date at which eligibility is judged (default: today).")
    rules: dict[str, EligibilityRule] = Field(
        default_factory=lambda: {
            "pension": EligibilityRule(min_age=65),
            "low_income": EligibilityRule(min_age=18, max_income=12_000),
        },
        description="Eligibility rule per programme; set your jurisdiction's in the profile.",
    )


def rules_sql(rules: dict[str, EligibilityRule]) -> str:
    """The rules as a relation (programme, min_age, max_age, max_income)."""
    rows = [
        f"({sql_literal(name)}, {sql_literal(rule.min_age)}, {sql_literal(rule.max_age)}, "
        f"{sql_literal(None if rule.max_income is None else float(rule.max_income))})"
        for name, rule in sorted(rules.items())
    ]
    if not rows:
        return (
            "(SELECT NULL::VARCHAR AS programme, NULL::INTEGER AS min_age, NULL::INTEGER AS max_age, "
            "NULL::DOUBLE AS max_income WHERE FALSE)"
        )
    return (
        "(SELECT programme, CAST(min_age AS INTEGER) AS min_age, CAST(max_age AS INTEGER) AS max_age, "
        f"CAST(max_income AS DOUBLE) AS max_income FROM (VALUES {', '.join(rows)}) "
        "AS rules(programme, min_age, max_age, max_income))"
    )


def _snippets(params: L006Params) -> dict[str, str]:
    return {"rules": rules_sql(params.rules)}


INDICATOR = Indicator(
    code="L006",
    title="Ineligible beneficiary",
    summary="A beneficiary is dead, outside the programme's ages, or above its income ceiling.",
    subject_types=("beneficiary",),
    source=(
        "Inclusion-error checks of social protection programmes against civil registration (World Bank, "
        "Sourcebook on the Foundations of Social Protection Delivery Systems, 2020)."
    ),
    params=L006Params,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("beneficiaries~civil",),
    explanations={
        "beneficiary": "{name} receives {programme} although: {reasons}.",
    },
)
