"""L004 — Bank account shared by several payees."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L004Params(Params):
    min_people: int = Field(3, ge=2, description="Different people paid into one account that flag it.")
    match_threshold: float = Field(0.5, gt=0, le=1, description="Match probability that identifies a payee.")


INDICATOR = Indicator(
    code="L004",
    title="Bank account shared by several payees",
    summary="Payroll or benefit payments for several different people go into one bank account.",
    subject_types=("bank_account",),
    source=(
        "A classic ghost-worker and benefit-fraud pattern: salaries of fictitious or absent staff routed to one "
        "account (e.g. Nigeria's IPPIS findings; World Bank payroll control guidance)."
    ),
    params=L004Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("payroll~civil", "beneficiaries~civil"),
    explanations={
        "bank_account": "Account {subject_id} receives payments for {people} different people: {names}.",
    },
)
