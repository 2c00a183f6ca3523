"""Run the screens on a dataset's bids, score each tender with the shipped classifier, write screen_results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from clearsight.engine import Backend
from clearsight.flags.base import sql_literal
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
    scored: int

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "screened": self.screened,
            "insufficient_data": self.insufficient,
            "scored_by_classifier": self.scored,
        }


def bids_sql(dataset: str, profile: Profile) -> str:
    """Submitted bids with an amount in the main currency, one row per lot they are for (NULL: no lot)."""
    context = run_context(dataset, profile)
    return f"""(
        SELECT b.ocid, unnest(CASE WHEN len(b.related_lots) > 0 THEN b.related_lots ELSE [NULL::VARCHAR] END)
                   AS lot_id,
               b.amount_main AS amount
        FROM {context["bids_main"]} AS b
        JOIN {context["scope"]} AS p ON p.ocid = b.ocid
        WHERE b.status IN ('valid', 'disqualified', 'pending') AND b.amount_main IS NOT NULL
    )"""


def run_screens(
    backend: Backend, dataset: str, profile: Profile, minimum_bids: int = MINIMUM_BIDS, classify: bool = True
) -> ScreenRunSummary:
    """Screens per tender and lot; tenders with fewer than `minimum_bids` bids are insufficient_data."""
    backend.ensure_tables(ALL_TABLES)
    run_id = f"screens-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    columns = ", ".join(SCREEN_COLUMNS)
    backend.execute(f"""
        INSERT INTO screen_results (run_id, dataset, ocid, lot_id, status, {columns})
        SELECT {sql_literal(run_id)}, {sql_literal(dataset)}, ocid, lot_id,
               CASE WHEN bids >= {int(minimum_bids)} THEN 'screened' ELSE 'insufficient_data' END, {columns}
        FROM ({screens_sql(bids_sql(dataset, profile))}) AS screens""")
    scored = 0
    if classify:
        scored = _score(backend, run_id)
    counts = dict(
        backend.query("SELECT status, count(*) FROM screen_results WHERE run_id = ? GROUP BY status", [run_id])
    )
    return ScreenRunSummary(
        run_id, dataset, int(counts.get("screened", 0)), int(counts.get("insufficient_data", 0)), scored
    )


def _score(backend: Backend, run_id: str) -> int:
    from clearsight.screens.classifier import load_shipped

    table = backend.query_arrow(
        f"SELECT ocid, lot_id, {', '.join(SCREEN_COLUMNS)} FROM screen_results "
        "WHERE run_id = ? AND status = 'screened'",
        [run_id],
    )
    if table.num_rows == 0:
        return 0
    features = np.column_stack(
        [table.column(name).to_numpy(zero_copy_only=False).astype(float) for name in SCREEN_COLUMNS]
    )
    probabilities = load_shipped().predict_proba(features)[:, 1]
    import pyarrow as pa

    scores = pa.table(
        {
            "ocid": table.column("ocid"),
            "lot_id": table.column("lot_id"),
            "probability": pa.array(probabilities, pa.float64()),
        }
    )
    with backend.registered("screen_scores", scores):
        backend.execute(
            f"""
            UPDATE {SCREEN_RESULTS.name} AS r SET cartel_probability = s.probability
            FROM screen_scores AS s
            WHERE r.run_id = ? AND r.ocid = s.ocid AND r.lot_id IS NOT DISTINCT FROM s.lot_id""",
            [run_id],
        )
    return int(table.num_rows)
