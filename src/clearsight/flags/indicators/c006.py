"""C006 — Contract value far above award value."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class C006Params(Params):
    threshold: float = Field(0.2, description="Increase of the contract value over the award value (0.2 = 20%).")


INDICATOR = Indicator(
    code="C006",
    title="Contract value far above award value",
    summary="The contract is worth much more than what was awarded.",
    subject_types=("process",),
    source="OCP Red Flags in Public Procurement (2024): contract value increases; DIGIWHIST 'contract value change'.",
    params=C006Params,
    sql_path=Path(__file__).with_suffix(".sql"),
    explanations={
        "process": (
            "The contract ({contract_value:,.2f}) is worth {value:.0%} more than the award ({award_value:,.2f})."
        ),
    },
)
