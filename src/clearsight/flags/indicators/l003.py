"""L003 — Paid twice."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L003Params(Params):
    threshold: float = Field(0.5, gt=0, le=1, description="Match probability from which two payees are one person.")


INDICATOR = Indicator(
    code="L003",
    title="Paid twice",
    summary="The same person appears on the payroll twice for one pay period, under one employer or two.",
    subject_types=("payroll_record",),
    source=(
        "Duplicate-payment detection in payroll audits (e.g. INTOSAI/ISSAI 5500-series guidance on auditing "
        "payroll; national audit offices' data-matching exercises such as the UK National Fraud Initiative)."
    ),
    params=L003Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("payroll~payroll",),
    explanations={
        "payroll_record": "{name} ({employer}, {pay_period}) is also paid as {other_records} for the same period "
        "(match probability {match_probability:.2f}).",
    },
)
