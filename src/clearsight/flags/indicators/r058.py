"""R058 — Heavily discounted bid."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, quantile_sql, sql_literal


class R058Params(Params):
    threshold: float | None = Field(None, description="Fixed upper fence (a ratio); default Q3 + 1.5 IQR.")
    minimum_sample: int = Field(10, description="Processes with a ratio needed to compute the fence.")


def _snippets(params: R058Params) -> dict[str, str]:
    return {
        "q1": quantile_sql("ratios", "ratio", 0.25),
        "q3": quantile_sql("ratios", "ratio", 0.75),
        "fixed_threshold": sql_literal(params.threshold),
    }


INDICATOR = Indicator(
    code="R058",
    title="Heavily discounted bid",
    summary="The winning bid is far below the next-lowest valid bid (a high outlier of the difference).",
    subject_types=("process", "tenderer"),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R058; Cardinal R058.",
    params=R058Params,
    minimum_sample=10,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "The winning bid ({winning_bid:,.2f}) was {value:.0%} below the next-lowest bid "
            "({second_lowest_bid:,.2f}); the upper fence is {threshold:.0%}."
        ),
        "tenderer": "{subject_id} won with a heavily discounted bid.",
    },
)
