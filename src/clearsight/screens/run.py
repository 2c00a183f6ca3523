"""Run the screens on a dataset's bids, judge each tender with the default score (score.py) and, with a trained model,
its probability; write screen_results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from clearsight.engine import Backend
from clearsight.flags.profile import Profile
from clearsight.flags.runner import run_context
from clearsight.model import ALL_TABLES, SCREEN_RESULTS
from clearsight.screens.sql import SCREEN_COLUMNS, screens_sql

MINIMUM_BIDS = 4


@dataclass
class ScreenRunSummary:
    run_id: str
    dataset: str
    screened: int
    insufficient: int
    out_of_domain: int
    scored: int  # by a trained model

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "screened": self.screened,
            "insufficient_data": self.insufficient,
            "out_of_domain": self.out_of_domain,
            "scored_by_model": self.scored,
        }


def bids_sql(dataset: str, profile: Profile) -> str:
    """Submitted bids with an amount in the main currency, one row per lot they are for (NULL: no lot)."""
    context = run_context(dataset, profile)
    return f"""(
        SELECT b.ocid, unnest(CASE WHEN array_length(b.related_lots) > 0 THEN b.related_lots ELSE [NULL::VARCHAR] END)
                   AS lot_id,
               b.amount_main AS amount
        FROM {context["bids_main"]} AS b
        JOIN {context["scope"]} AS p ON p.ocid = b.ocid
        WHERE b.status IN ('valid', 'disqualified', 'pending') AND b.amount_main IS NOT NULL
    )"""


def repeated_bidders_sql(dataset: str, profile: Profile) -> str:
    """Per (ocid, lot) where some firm submitted several bids: the firm with most bids and how many."""
    context = run_context(dataset, profile)
    return f"""
        SELECT ocid, lot_id, arg_max(tenderer_id, n) AS busiest_firm, max(n) AS busiest_bids FROM (
            SELECT b.ocid, unnest(CASE WHEN array_length(b.related_lots) > 0 THEN b.related_lots
                                       ELSE [NULL::VARCHAR] END) AS lot_id,
                   b.tenderer_id, count(*) AS n
            FROM {context["bid_tenderer"]} AS b
            JOIN {context["scope"]} AS p ON p.ocid = b.ocid
            WHERE b.status IN ('valid', 'disqualified', 'pending') AND b.amount_main IS NOT NULL
            GROUP BY 1, 2, 3
        ) AS per_firm
        WHERE n > 1
        GROUP BY ocid, lot_id
    """


def run_screens(
    backend: Backend,
    dataset: str,
    profile: Profile,
    minimum_bids: int = MINIMUM_BIDS,
    model: dict[str, Any] | None = None,
) -> ScreenRunSummary:
    """Screens per tender and lot; tenders with fewer than `minimum_bids` bids are insufficient_data, those the
    reference does not cover out_of_domain; the others get the default score and, with `model` (files.load_model),
    its probability.

    The screens are computed by the engine; the judging and scoring happen here; the rows are appended once (no
    UPDATE: engines that store tables as files have none)."""
    from clearsight.screens.files import score
    from clearsight.screens.score import Reference, shipped_reference

    backend.ensure_tables(ALL_TABLES)
    run_id = f"screens-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    columns = ", ".join(SCREEN_COLUMNS)
    rows = backend.query_arrow(f"""
        SELECT ocid, lot_id, {columns}
        FROM ({screens_sql(bids_sql(dataset, profile))}) AS screens
        ORDER BY ocid, lot_id""")
    repeated = {
        (ocid, lot): (firm, count) for ocid, lot, firm, count in backend.query(repeated_bidders_sql(dataset, profile))
    }
    keys = list(zip(rows.column("ocid").to_pylist(), rows.column("lot_id").to_pylist(), strict=True))
    tenders = pa.table(
        {
            "source": pa.array([dataset] * rows.num_rows, pa.string()),
            "tender": rows.column("ocid"),
            "lot": rows.column("lot_id"),
            "firms": pa.nulls(rows.num_rows, pa.int64()),
            "busiest_firm": pa.array([repeated.get(key, (None, None))[0] for key in keys], pa.string()),
            "busiest_bids": pa.array([repeated.get(key, (None, None))[1] for key in keys], pa.int64()),
            **{name: rows.column(name) for name in SCREEN_COLUMNS},
            "label": pa.nulls(rows.num_rows, pa.int64()),
        }
    )
    reference = Reference.from_dict(model["reference"]) if model else shipped_reference()
    judged = score(tenders, reference, model, minimum_bids)
    status = pc.replace_substring(judged.column("status"), "scored", "screened")
    probability = judged.column("probability") if model else pa.nulls(rows.num_rows, pa.float64())
    out = pa.table(
        {
            "run_id": pa.array([run_id] * rows.num_rows, pa.string()),
            "dataset": pa.array([dataset] * rows.num_rows, pa.string()),
            "ocid": rows.column("ocid"),
            "lot_id": rows.column("lot_id"),
            "status": status,
            **{name: rows.column(name) for name in SCREEN_COLUMNS},
            "cartel_probability": probability,
            "reason": judged.column("reason"),
            "score": judged.column("score"),
        }
    )
    backend.append_arrow(SCREEN_RESULTS.name, out)
    statuses = status.to_pylist()
    screened = statuses.count("screened")
    return ScreenRunSummary(
        run_id,
        dataset,
        screened,
        statuses.count("insufficient_data"),
        statuses.count("out_of_domain"),
        screened if model else 0,
    )
