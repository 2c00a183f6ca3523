"""C001 — Non-open procedure."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C001Params(Params):
    non_open_methods: list[str] = Field(
        default_factory=lambda: ["limited", "direct"], description="Methods that are not open competition."
    )


INDICATOR = Indicator(
    code="C001",
    title="Non-open procedure",
    summary="The contract was procured without an open competition.",
    subject_types=("process",),
    source=(
        "Government Transparency Institute, Corruption Risk Index component 'non-open "
        "procedure type' (Fazekas, Tóth & King 2016); OCP Red Flags in Public "
        "Procurement (2024)."
    ),
    params=C001Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "The contract was procured by a {procurement_method} procedure, without open competition.",
    },
)
