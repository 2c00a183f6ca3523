"""Run the screens on a dataset's bids, score each tender with the shipped classifier, write screen_results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
        SELECT b.ocid, unnest(CASE WHEN array_length(b.related_lots) > 0 THEN b.related_lots ELSE [NULL::VARCHAR] END)
                   AS lot_id,
               b.amount_main AS amount
        FROM {context["bids_main"]} AS b
        JOIN {context["scope"]} AS p ON p.ocid = b.ocid
        WHERE b.status IN ('valid', 'disqualified', 'pending') AND b.amount_main IS NOT NULL
    )"""


def run_screens(
    backend: Backend, dataset: str, profile: Profile, minimum_bids: int = MINIMUM_BIDS, classify: bool = True
) -> ScreenRunSummary:
    """Screens per tender and lot; tenders with fewer than `minimum_bids` bids are insufficient_data.

    The screens are computed by the engine; the classifier scores them here; the rows are appended once, with
    their probabilities (no UPDATE: engines that store tables as files have none)."""
    backend.ensure_tables(ALL_TABLES)
    run_id = f"screens-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    columns = ", ".join(SCREEN_COLUMNS)
    rows = backend.query_arrow(f"""
        SELECT {sql_literal(run_id)} AS run_id, {sql_literal(dataset)} AS dataset, ocid, lot_id,
               CASE WHEN bids >= {int(minimum_bids)} THEN 'screened' ELSE 'insufficient_data' END AS status,
               {columns}
        FROM ({screens_sql(bids_sql(dataset, profile))}) AS screens
        ORDER BY ocid, lot_id""")
    screened = pc.equal(rows.column("status"), "screened")
    count = int(pc.sum(screened).as_py() or 0)
    probability = _score(rows, screened) if classify and count else pa.nulls(rows.num_rows, pa.float64())
    backend.append_arrow(SCREEN_RESULTS.name, rows.append_column("cartel_probability", probability))
    return ScreenRunSummary(run_id, dataset, count, rows.num_rows - count, count if classify else 0)


def _score(rows: pa.Table, screened: pa.ChunkedArray) -> pa.Array:
    """The shipped classifier's probability for each screened row (NULL for the others)."""
    from clearsight.screens.classifier import load_shipped

    features = np.column_stack(
        [rows.column(name).to_numpy(zero_copy_only=False).astype(float) for name in SCREEN_COLUMNS]
    )
    mask = screened.to_numpy(zero_copy_only=False).astype(bool)
    out = np.full(rows.num_rows, np.nan)
    out[mask] = load_shipped().predict_proba(features[mask])[:, 1]
    return pa.array(out, pa.float64(), mask=~mask)
