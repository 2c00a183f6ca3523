"""L003 — Paid twice."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L003Params(Params):
    threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Match probability from which the payroll's deduplication takes two payees for one person.",
    )
    civil_threshold: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Match probability from which a payee is taken for their best match in the civil registry. Two "
        "payees of one period resolved to the same person are one; two resolved to different people are two, "
        "however alike their payroll entries.",
    )
    civil_margin: float = Field(
        2.0,
        ge=0,
        description="Civil records within this many bits of a payee's best match are as likely as the best: a payee "
        "with more than one (namesakes born the same day) is not resolved to anyone.",
    )


INDICATOR = Indicator(
    code="L003",
    title="Paid twice",
    summary="The same person appears on the payroll twice for one pay period, under one employer or two: the "
    "payroll's deduplication pairs the two records, or the civil registry resolves both to one person.",
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
