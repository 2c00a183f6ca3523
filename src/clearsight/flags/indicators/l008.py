"""L008 — Deceased voter."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L008Params(Params):
    threshold: float = Field(0.5, gt=0, le=1, description="Match probability that finds a voter's civil record.")


INDICATOR = Indicator(
    code="L008",
    title="Deceased voter",
    summary="A person on the voter roll is recorded as dead in the civil registry.",
    subject_types=("voter",),
    source=(
        "Roll maintenance against death registrations (e.g. the US NVRA list-maintenance provisions; ACE "
        "Electoral Knowledge Network on continuous voter registration)."
    ),
    params=L008Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("voters~civil",),
    explanations={
        "voter": "{name} (polling station {polling_station}) died on {date_of_death} (civil record {person}, "
        "match probability {match_probability:.2f}).",
    },
)
