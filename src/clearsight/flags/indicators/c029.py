"""C029 — Payments exceed the contract value."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C029Params(Params):
    tolerance: float = Field(0.05, description="Share above the contract value allowed before flagging.")


INDICATOR = Indicator(
    code="C029",
    title="Payments exceed the contract value",
    summary="More was paid on a contract than it is worth.",
    subject_types=("process",),
    source="OCP Red Flags in Public Procurement (2024): payments above contract value (implementation stage).",
    params=C029Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "Payments of {paid:,.2f} exceed the contract value of {contract_value:,.2f} by {value:.0%}.",
    },
)
