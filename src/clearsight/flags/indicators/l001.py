"""L001 — Ghost worker."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L001Params(Params):
    min_evidence: float = Field(
        12.0,
        description="Evidence (bits: the match weight without the prior) from which a civil record is a plausible "
        "candidate for the payee. Evidence, unlike the match probability, does not shrink as the civil registry "
        "grows; a ghost has no plausible candidate at all.",
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
        "registry (best evidence {value:.1f} bits, below {threshold:.0f}; none when no one came close).",
    },
)
