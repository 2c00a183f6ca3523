"""C003 — Long decision period."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C003Params(Params):
    threshold: int = Field(60, description="Days from the end of the submission period to the award.")


INDICATOR = Indicator(
    code="C003",
    title="Long decision period",
    summary="The buyer took unusually long to decide after bids closed.",
    subject_types=("process",),
    source="DIGIWHIST / opentender.eu integrity indicator 'decision period length'; GTI Corruption Risk Index.",
    params=C003Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "The award came {value:.0f} days after bids closed, more than the {threshold:.0f} days this profile allows."
        ),
    },
)
