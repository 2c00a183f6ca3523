"""R032 — Bidders share a beneficial owner."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class R032Params(Params):
    max_depth: int = Field(
        3, ge=1, le=6, description="Ownership hops followed from a tenderer up to a person (1: direct owners only)."
    )


def _snippets(params: R032Params) -> dict[str, str]:
    """The chain of ownership, one hop per SELECT (no recursive SQL: every engine runs it)."""
    hops = ["SELECT ocid, tenderer, moment, party AS owner, 1 AS depth FROM hop_1"]
    ctes = [
        "hop_1 AS (SELECT k.ocid, k.tenderer, k.moment, e.party FROM owned AS k "
        "JOIN edges AS e ON e.subject = k.record_id AND (e.start_date IS NULL OR e.start_date <= k.moment) "
        "AND (e.end_date IS NULL OR e.end_date >= k.moment))"
    ]
    for depth in range(2, params.max_depth + 1):
        ctes.append(
            f"hop_{depth} AS (SELECT h.ocid, h.tenderer, h.moment, e.party FROM hop_{depth - 1} AS h "
            "JOIN edges AS e ON e.subject = h.party AND (e.start_date IS NULL OR e.start_date <= h.moment) "
            "AND (e.end_date IS NULL OR e.end_date >= h.moment))"
        )
        hops.append(f"SELECT ocid, tenderer, moment, party, {depth} FROM hop_{depth}")
    return {"hop_ctes": ",\n".join(ctes), "hops": "\nUNION ALL\n".join(hops)}


INDICATOR = Indicator(
    code="R032",
    title="Bidders share a beneficial owner",
    summary="Two or more tenderers of a process have the same beneficial owner, directly or through companies.",
    subject_types=("process",),
    source=(
        "Open Contracting Partnership, Red Flags in Public Procurement (2024), R032; beneficial ownership as in "
        "the Beneficial Ownership Data Standard (Open Ownership)."
    ),
    params=R032Params,
    snippets=_snippets,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": "{tenderers_sharing} of its tenderers ({names}) have a beneficial owner in common: {owners}.",
    },
)
