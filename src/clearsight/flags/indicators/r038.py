"""R038 — Excessive disqualified bids."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, quantile_sql, sql_literal


class R038Params(Params):
    threshold: float | None = Field(None, description="Fixed upper fence of the ratio; default Q3 + 1.5 IQR.")
    minimum_submitted_bids: int = Field(2, description="Bids a tenderer must have submitted to be judged.")
    minimum_contracting_processes: int = Field(
        2,
        description="Bids a buyer or procuring entity must have received to be judged (named as in Cardinal, "
        "which counts bids here).",
    )
    minimum_sample: int = Field(10, description="Organisations per group needed to compute the fence.")


def _snippets(params: R038Params) -> dict[str, str]:
    snippets = {"fixed_threshold": sql_literal(params.threshold)}
    for group in ("buyer", "procuring_entity", "tenderer"):
        relation = f"(SELECT ratio FROM eligible WHERE subject_type = '{group}')"
        snippets[f"q1_{group}"] = quantile_sql(relation, "ratio", 0.25)
        snippets[f"q3_{group}"] = quantile_sql(relation, "ratio", 0.75)
    return snippets


INDICATOR = Indicator(
    code="R038",
    title="Excessive disqualified bids",
    summary="A buyer, procuring entity or tenderer has an unusually high share of disqualified bids.",
    subject_types=("buyer", "procuring_entity", "tenderer"),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R038; Cardinal R038.",
    params=R038Params,
    minimum_sample=10,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "buyer": (
            "{subject_id} disqualified {disqualified_bids} of {submitted_bids} bids "
            "({value:.0%}), at or above the fence of {threshold:.0%}."
        ),
        "procuring_entity": (
            "{subject_id} disqualified {disqualified_bids} of {submitted_bids} bids "
            "({value:.0%}), at or above the fence of {threshold:.0%}."
        ),
        "tenderer": (
            "{disqualified_bids} of the {submitted_bids} bids by {subject_id} were "
            "disqualified ({value:.0%}), at or above the fence of {threshold:.0%}."
        ),
    },
)
