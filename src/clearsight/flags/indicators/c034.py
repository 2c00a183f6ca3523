"""C034 — One supplier wins every lot."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C034Params(Params):
    minimum_lots: int = Field(2, description="Lots awarded needed to judge the process.")


INDICATOR = Indicator(
    code="C034",
    title="One supplier wins every lot",
    summary="In a tender divided into lots, one supplier won them all.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): lot division that benefits one supplier; market-sharing screens."
    ),
    params=C034Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{supplier} won all {value:.0f} lots.",
    },
)
