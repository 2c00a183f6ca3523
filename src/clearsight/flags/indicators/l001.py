"""L001 — Ghost worker."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L001Params(Params):
    threshold: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Match probability from which a civil record is a plausible candidate for the payee: a ghost "
        "has no plausible candidate at all, so this is deliberately low.",
    )


INDICATOR = Indicator(
    code="L001",
    title="Ghost worker",
    summary="A payroll record's payee matches no one in the civil registry.",
    subject_types=("payroll_record",),
    source=(
        "Payroll audits that match payrolls against civil and identity registries, e.g. Nigeria's IPPIS and "
        "biometric verification of public servants; World Bank, 'Ghost workers' (Public Sector Productivity "
        "Review, 2019)."
    ),
    params=L001Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("payroll~civil",),
    explanations={
        "payroll_record": "{name}, paid {amount} by {employer} for {pay_period}, matches no one in the civil "
        "registry (closest match probability {value:.2f}, below {threshold:.2f}).",
    },
)
