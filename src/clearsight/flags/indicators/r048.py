"""R048 — Heterogeneous supplier."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params, quantile_sql, sql_literal


class R048Params(Params):
    digits: int = Field(2, ge=1, description="Leading digits of the item classification compared (2: CPV division).")
    threshold: int | None = Field(None, description="Fixed number of classes; default ceil(Q3 + 1.5 IQR).")
    minimum_contracting_processes: int = Field(20, description="Processes a supplier must have won to be judged.")
    minimum_sample: int = Field(10, description="Suppliers needed to compute the fence.")


def _snippets(params: R048Params) -> dict[str, str]:
    return {
        "q1": quantile_sql("eligible", "classes", 0.25),
        "q3": quantile_sql("eligible", "classes", 0.75),
        "fixed_threshold": sql_literal(params.threshold),
    }


INDICATOR = Indicator(
    code="R048",
    title="Heterogeneous supplier",
    summary="A supplier wins contracts for an unusually wide range of unrelated goods and services.",
    subject_types=("tenderer",),
    source="Open Contracting Partnership, Red Flags in Public Procurement (2024), R048; Cardinal R048.",
    params=R048Params,
    minimum_sample=10,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "tenderer": (
            "{subject_id} won contracts in {value:.0f} unrelated classes ({classes}), at or "
            "above the fence of {threshold:.0f}."
        ),
    },
)
