"""R003 — Short submission period."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, sql_literal


class R003Params(Params):
    threshold: int = Field(15, description="Minimum days between the start and end of the tender period.")
    procurement_methods: list[str] = Field(
        default_factory=list, description="Methods to check (e.g. open, selective); empty: every process."
    )
    procurement_method_details_thresholds: dict[str, int] = Field(
        default_factory=dict, description="Thresholds for particular procurementMethodDetails values."
    )


def _snippets(params: R003Params) -> dict[str, str]:
    cases = " ".join(
        f"WHEN {sql_literal(details)} THEN {days}"
        for details, days in sorted(params.procurement_method_details_thresholds.items())
    )
    threshold = (
        f"CASE p.procurement_method_details {cases} ELSE {params.threshold} END" if cases else str(params.threshold)
    )
    methods = (
        f"coalesce(list_contains({sql_literal(params.procurement_methods)}, p.procurement_method), FALSE)"
        if params.procurement_methods
        else "TRUE"
    )
    return {"threshold_days": threshold, "method_applies": methods}


INDICATOR = Indicator(
    code="R003",
    title="Short submission period",
    summary="The time bidders had to submit bids is shorter than the legal or customary minimum.",
    subject_types=("process",),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R003; Cardinal R003.",
    params=R003Params,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "The tender was open for {value:.0f} days, less than the {threshold:.0f} days this profile requires."
        ),
    },
)
