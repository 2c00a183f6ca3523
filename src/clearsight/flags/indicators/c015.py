"""C015 — Submission period over the holidays."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C015Params(Params):
    holiday_start: str = Field("12-24", description="Start of the holiday window (month-day).")
    holiday_end: str = Field("01-02", description="End of the holiday window (month-day, may be in the next year).")
    minimum_share: float = Field(0.3, description="Share of the submission period inside the window that flags it.")


INDICATOR = Indicator(
    code="C015",
    title="Submission period over the holidays",
    summary="The bidding period falls largely over the end-of-year holidays.",
    subject_types=("process",),
    source=(
        "OCP Red Flags in Public Procurement (2024): tenders advertised over holiday "
        "periods; DIGIWHIST research on timing."
    ),
    params=C015Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{value:.0%} of the submission period fell in the holiday window.",
    },
)
