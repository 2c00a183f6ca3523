"""L002 — Paid after death."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L002Params(Params):
    threshold: float = Field(
        0.5, gt=0, le=1, description="Match probability from which the civil record is the payee's."
    )


INDICATOR = Indicator(
    code="L002",
    title="Paid after death",
    summary="A payee was paid for a period that began after the civil registry records their death.",
    subject_types=("payroll_record",),
    source=(
        "Death-record matching in payment integrity programmes, e.g. the US Do Not Pay service and the Social "
        "Security Administration's Death Master File; audits of pensions and salaries paid to the deceased."
    ),
    params=L002Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("payroll~civil",),
    explanations={
        "payroll_record": "{name} was paid {amount} by {employer} for {pay_period}, {value:.0f} days after their "
        "death on {date_of_death} (civil record {person}).",
    },
)
