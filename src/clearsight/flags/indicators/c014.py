"""C014 — Award values deviate from Benford's law."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C014Params(Params):
    threshold: float = Field(0.015, description="Mean absolute deviation above which conformity is rejected (Nigrini).")
    minimum_values: int = Field(100, description="Award values a buyer needs to be judged.")


INDICATOR = Indicator(
    code="C014",
    title="Award values deviate from Benford's law",
    summary="The first digits of a buyer's award values do not follow Benford's law.",
    subject_types=("buyer",),
    source=(
        "Nigrini, Benford's Law (2012): mean absolute deviation thresholds for first "
        "digits; applied to procurement by DIGIWHIST research."
    ),
    params=C014Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "buyer": (
            "The first digits of {values} award values by {subject_id} deviate from "
            "Benford's law (MAD {value:.3f} > {threshold:.3f})."
        ),
    },
)
