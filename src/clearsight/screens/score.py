"""The default cartel screen: how much less dispersed a tender's bids are than those of reference tenders.

Cover bids make a tender's bids cluster: the coefficient of variation (CV) and the relative spread fall under
collusion (Imhof 2019; Huber & Imhof 2019). Both are scale-free and need no labels. The default score of a tender is

    score = 1 − (P_cv(cv) + P_spread(spread)) / 2

where P_x is the share of reference tenders with a lower value of screen x — each reference dataset (country)
weighing the same, so that one large dataset does not define "normal". A score near 1: bids less dispersed than
almost every reference tender; near 0: more dispersed than almost all.

Why not a trained model by default: trained on three of the four labelled countries and tested on the fourth, the
trees ranked cartel tenders no better than chance and below it on two (docs/screens.md). The screens that carry the
signal point the way economics says in every country; a model that learns weights and interactions from three
countries learns their auction formats and label definitions too. The trained model stays available for agencies
with their own labelled cases (`clearsight screens train`).

A tender is judged only inside the domain the reference covers: fewer than 4 bids is `insufficient_data`; a firm
bidding more than once in one tender (successive bids of an auction, not one sealed bid per firm), more bids than
99.5% of reference tenders, or dispersion above 99.5% of them is `out_of_domain`, with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from clearsight.screens.sql import SCREEN_COLUMNS, screens_sql

MINIMUM_BIDS = 4
DEFAULT_SCREENS = ("cv", "spread")  # lower under collusion
DOMAIN_SCREENS = ("bids", "cv", "spread")  # whose reference range bounds the domain
DOMAIN_LEVEL = 0.995
LEVELS = np.linspace(0.0, 1.0, 201)
# Which way each screen points under collusion, as the literature states it (docs/screens.md): +1 higher, -1 lower.
ECONOMIC_SIGN = {
    "bids": -1,
    "cv": -1,
    "kurtosis": 1,
    "skewness": -1,
    "spread": -1,
    "diffp": 1,
    "rd": 1,
    "altrd": 1,
    "ks": 1,
}
REFERENCE_FILE = "cartel_model.json"


@dataclass
class Reference:
    """Quantiles of the domain screens in each reference dataset."""

    datasets: list[str]
    quantiles: dict[str, list[list[float]]]  # screen → per dataset, its values at LEVELS

    def share_below(self, screen: str, values: np.ndarray) -> np.ndarray:
        """P_screen: the share of reference tenders with a lower value, each dataset weighing the same (NaN stays)."""
        shares = np.mean([np.interp(values, q, LEVELS) for q in map(np.asarray, self.quantiles[screen])], axis=0)
        return np.where(np.isnan(values), np.nan, shares)

    def to_dict(self) -> dict[str, Any]:
        return {"datasets": self.datasets, "levels": len(LEVELS), "quantiles": self.quantiles}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        if data.get("levels") != len(LEVELS):
            raise ValueError(f"a reference with {data.get('levels')} quantile levels, not {len(LEVELS)}")
        return cls(list(data["datasets"]), {key: value for key, value in data["quantiles"].items()})


def build_reference(tenders: dict[str, pa.Table]) -> Reference:
    """The reference from each dataset's tenders (`tender_screens` output): those with enough bids and one bid
    per firm, whatever their labels."""
    quantiles: dict[str, list[list[float]]] = {screen: [] for screen in DOMAIN_SCREENS}
    for table in tenders.values():
        keep = usable(table)
        for screen in DOMAIN_SCREENS:
            values = table.column(screen).to_numpy(zero_copy_only=False).astype(float)[keep]
            values = values[~np.isnan(values)]
            if not len(values):
                raise ValueError("a reference dataset without a tender of at least 4 bids")
            quantiles[screen].append([round(float(v), 10) for v in np.quantile(values, LEVELS)])
    return Reference(list(tenders), quantiles)


def shipped_reference() -> Reference:
    record = json.loads(resources.files("clearsight.screens").joinpath("model", REFERENCE_FILE).read_text())
    return Reference.from_dict(record["reference"])


LOWEST_PER_FIRM = """(
    SELECT source, tender, lot, bidder, min(amount) AS amount, max(winner) AS winner, max(label) AS label
    FROM bids WHERE bidder IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT source, tender, lot, bidder, amount, winner, label FROM bids WHERE bidder IS NULL
)"""


def tender_screens(connection: duckdb.DuckDBPyConnection, relation: str = "bids") -> pa.Table:
    """One row per (source, tender, lot) of the bids: the firms and how many bids the busiest firm made (NULL
    without bidders), the screens, and the label (1 when any bid is labelled 1, NULL when none is labelled)."""
    key = "source || chr(31) || tender"
    screens = screens_sql(f"(SELECT {key} AS ocid, lot AS lot_id, amount FROM {relation})")
    return connection.sql(f"""
        WITH meta AS (
            SELECT {key} AS ocid, lot AS lot_id, any_value(source) AS source, any_value(tender) AS tender,
                   max(label) AS label,
                   CASE WHEN count(bidder) > 0 THEN count(DISTINCT bidder) END AS firms
            FROM {relation} GROUP BY ALL
        ),
        repeats AS (
            SELECT ocid, lot_id, arg_max(bidder, n) AS busiest_firm, max(n) AS busiest_bids FROM (
                SELECT {key} AS ocid, lot AS lot_id, bidder, count(*) AS n
                FROM {relation} WHERE bidder IS NOT NULL GROUP BY ALL
            ) GROUP BY ALL
        )
        SELECT m.source, m.tender, m.lot_id AS lot, m.firms, r.busiest_firm, r.busiest_bids,
               {", ".join(f"s.{column}" for column in SCREEN_COLUMNS)}, m.label
        FROM meta AS m JOIN ({screens}) AS s ON s.ocid = m.ocid AND s.lot_id IS NOT DISTINCT FROM m.lot_id
        LEFT JOIN repeats AS r ON r.ocid = m.ocid AND r.lot_id IS NOT DISTINCT FROM m.lot_id
        ORDER BY m.source, m.tender, m.lot_id
    """).to_arrow_table()


def usable(table: pa.Table) -> np.ndarray:
    """Tenders with enough bids and at most one bid per firm."""
    bids = table.column("bids").to_numpy(zero_copy_only=False)
    busiest = np.array([value or 1 for value in table.column("busiest_bids").to_pylist()])
    keep: np.ndarray = (bids >= MINIMUM_BIDS) & (busiest <= 1)
    return keep


def judge(table: pa.Table, reference: Reference, minimum_bids: int = MINIMUM_BIDS) -> pa.Table:
    """`table` (tender_screens) with status (scored, insufficient_data, out_of_domain), reason and score."""
    n = table.num_rows
    bids = table.column("bids").to_numpy(zero_copy_only=False).astype(int)
    busiest = [value or 1 for value in table.column("busiest_bids").to_pylist()]
    firms = table.column("busiest_firm").to_pylist()
    shares = {
        screen: reference.share_below(screen, table.column(screen).to_numpy(zero_copy_only=False).astype(float))
        for screen in DOMAIN_SCREENS
    }
    status: list[str] = ["scored"] * n
    reason: list[str | None] = [None] * n
    for i in range(n):
        why: str | None = None
        if bids[i] < MINIMUM_BIDS:
            status[i], why = (
                "insufficient_data",
                f"{bids[i]} bid{'s' if bids[i] != 1 else ''}: the screens need {MINIMUM_BIDS}",
            )
        elif busiest[i] > 1:
            status[i] = "out_of_domain"
            why = (
                f"{firms[i]} bid {busiest[i]} times: the screens assume one sealed bid per firm "
                "(successive bids of an auction are another format; `screens score --lowest-per-firm` takes each "
                "firm's lowest)"
            )
        elif max(shares["cv"][i], shares["spread"][i]) > DOMAIN_LEVEL:
            status[i] = "out_of_domain"
            why = "bids more dispersed than in 99.5% of the reference tenders (a unit or currency error?)"
        reason[i] = why
    score = 1.0 - (shares["cv"] + shares["spread"]) / 2.0
    scored = np.array([value == "scored" for value in status])
    return (
        table.append_column("status", pa.array(status, pa.string()))
        .append_column("reason", pa.array(reason, pa.string()))
        .append_column("score", pa.array(np.round(score, 6), pa.float64(), mask=~scored))
    )
