"""L009 — Eligible but not enrolled."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params
from clearsight.flags.indicators.l006 import EligibilityRule, rules_sql


class L009Params(Params):
    min_evidence: float = Field(
        12.0,
        description="Evidence (bits: match weight without the prior) from which a beneficiary may be the person; "
        "any plausible enrolment counts.",
    )
    as_of: date | None = Field(default=None, description="Date at which eligibility is judged (default: today).")
    universal_programmes: list[str] = Field(
        default_factory=lambda: ["pension"],
        description="Programmes every eligible person should receive (income is not in the civil registry, so "
        "only age rules apply here).",
    )
    rules: dict[str, EligibilityRule] = Field(
        default_factory=lambda: {"pension": EligibilityRule(min_age=65)},
        description="Age rule per programme.",
    )


def _snippets(params: L009Params) -> dict[str, str]:
    return {"rules": rules_sql(params.rules)}


INDICATOR = Indicator(
    code="L009",
    title="Eligible but not enrolled",
    summary="A living person meets the rule of a universal programme but is not among its beneficiaries.",
    subject_types=("civil_person",),
    source=(
        "Exclusion errors of social protection (World Bank, Sourcebook on the Foundations of Social Protection "
        "Delivery Systems, 2020); the 'leave no one behind' principle of the 2030 Agenda."
    ),
    params=L009Params,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("beneficiaries~civil",),
    explanations={
        "civil_person": "{name}, born {date_of_birth}, is eligible for {programme} but matches none of its "
        "beneficiaries.",
    },
)
