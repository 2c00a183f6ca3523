"""L010 — Company director who is an official."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class L010Params(Params):
    threshold: float = Field(0.5, gt=0, le=1, description="Match probability from which the two are one person.")
    roles: list[str] = Field(default_factory=lambda: ["director", "owner"], description="Roles checked (lower case).")
    require_contract: bool = Field(
        False,
        description="Flag only when the company won a contract from the official's employer (needs procurement "
        "data in the warehouse); otherwise every director or owner who is an official is flagged.",
    )


INDICATOR = Indicator(
    code="L010",
    title="Company director who is an official",
    summary="A director or owner of a company is an official on the payroll, possibly of its buyer.",
    subject_types=("company_role",),
    source=(
        "Conflict-of-interest screening by matching company registers with lists of public officials (OECD, "
        "Managing Conflict of Interest in the Public Sector, 2003; Open Ownership's beneficial-ownership "
        "principles)."
    ),
    params=L010Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    needs_links=("companies~payroll",),
    explanations={
        "company_role": "{name}, {role} of {company_name}, is an official of {employer} (payroll record "
        "{official_record}); contracts from that employer: {contracts}.",
    },
)
