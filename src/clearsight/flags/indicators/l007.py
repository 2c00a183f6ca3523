"""L007 — Voter registered twice."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L007Params(Params):
    threshold: float = Field(0.5, gt=0, le=1, description="Match probability from which two entries are one person.")


INDICATOR = Indicator(
    code="L007",
    title="Voter registered twice",
    summary="The same person appears twice on the voter roll.",
    subject_types=("voter",),
    source=(
        "Voter-list audits by record linkage (e.g. ACE Electoral Knowledge Network, 'Voter registration: "
        "verification of the register'; duplicate checks of biometric voter registers)."
    ),
    params=L007Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("voters~voters",),
    explanations={
        "voter": "{name} (polling station {polling_station}) is also registered as {other_records} "
        "(stations {other_stations}; match probability {match_probability:.2f}).",
    },
)
