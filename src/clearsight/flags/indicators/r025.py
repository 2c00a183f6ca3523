"""R025 — Excessive unsuccessful bids."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, quantile_sql, sql_literal


class R025Params(Params):
    percentile: int = Field(
        75, ge=1, le=100, description="Tenderers at or above this percentile of bids submitted are 'top tenderers'."
    )
    threshold: float | None = Field(None, description="Fixed lower fence of the win ratio; default Q1 - 1.5 IQR.")
    minimum_sample: int = Field(10, description="Tenderers needed to compute the fences.")


def _snippets(params: R025Params) -> dict[str, str]:
    return {
        "top": quantile_sql("tenderers", "submitted", params.percentile / 100),
        "q1": quantile_sql("tenderers", "ratio", 0.25),
        "q3": quantile_sql("tenderers", "ratio", 0.75),
        "fixed_threshold": sql_literal(params.threshold),
    }


INDICATOR = Indicator(
    code="R025",
    title="Excessive unsuccessful bids",
    summary="A tenderer that bids very often rarely wins: its ratio of wins to bids is a low outlier.",
    subject_types=("tenderer",),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R025 (cover bidding); Cardinal R025.",
    params=R025Params,
    minimum_sample=10,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "tenderer": (
            "{subject_id} bid in {processes_bid} processes and won {processes_won} "
            "({value:.0%}), below the fence of {threshold:.0%} for frequent bidders."
        ),
    },
)
