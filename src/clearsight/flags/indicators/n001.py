"""N001 — Cover bidding: the same loser keeps losing to the same winner."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class N001Params(Params):
    minimum_losses: int = Field(
        3, ge=1, description="Processes in which one loser lost to the same winner (and never beat it) to flag."
    )


INDICATOR = Indicator(
    code="N001",
    title="Cover bidding: the same loser keeps losing to the same winner",
    summary="A losing bidder has lost to this process's winner again and again and has never beaten it.",
    subject_types=("process",),
    source=(
        "OECD Guidelines for Fighting Bid Rigging in Public Procurement (2009): cover bidding; "
        "Imhof, Karagök & Rutz (2018) on Swiss cartels' complementary bids."
    ),
    params=N001Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{loser} lost to {winner} in {value} processes and never beat it; its bid here may be a cover.",
    },
)
