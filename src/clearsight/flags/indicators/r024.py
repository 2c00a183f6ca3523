"""R024 — Price close to winning bid."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, quantile_sql, sql_literal


class R024Params(Params):
    threshold: float | None = Field(None, description="Fixed lower fence (a ratio); default Q1 - 1.5 IQR.")
    minimum_sample: int = Field(10, description="Processes with a ratio needed to compute the fence.")


def _snippets(params: R024Params) -> dict[str, str]:
    return {
        "q1": quantile_sql("ratios", "ratio", 0.25),
        "q3": quantile_sql("ratios", "ratio", 0.75),
        "fixed_threshold": sql_literal(params.threshold),
    }


INDICATOR = Indicator(
    code="R024",
    title="Price close to winning bid",
    summary="The second-lowest valid bid is unusually close to the winning bid (a low outlier).",
    subject_types=("process", "tenderer"),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R024; Cardinal R024.",
    params=R024Params,
    minimum_sample=10,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "The runner-up ({second_lowest_bidder}) bid {second_lowest_bid:,.2f}, only "
            "{value:.1%} above the winning bid of {winning_bid:,.2f}; the lower fence is "
            "{threshold:.1%}."
        ),
        "tenderer": "{subject_id} was the {role} in a process whose two lowest bids were suspiciously close.",
    },
)
