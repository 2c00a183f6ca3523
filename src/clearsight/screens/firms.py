"""Firm-level cartel screens on a bid table with bidders: who bids with whom, how often, and who lets whom win.

Per firm, over the tenders (and lots) of one file:

- `tenders`: tenders it bid in (cartel members bid often: they must appear, as winners or as cover);
- `co_bidders`: distinct firms it met in those tenders;
- `closest_rival_tenders`: the most tenders it shared with any one firm (a cartel meets the same firms again);
- `rotating_rivals`: firms that met it in at least `MEET` tenders and won at least one of those it lost (wins that
  rotate inside a group);
- `win_share`: the share of its bids that won (NULL without a winner column);
- `mean_tender_score`: the mean default score (score.py) of its tenders that were scored — shown, not combined: on
  the labelled data it points opposite ways in different countries.

The firm score is the mean of the firm's percentile ranks among the file's firms in tenders, closest_rival_tenders,
rotating_rivals and win_share (when present): 1 for the firm most involved in repeated, rotating co-bidding. It needs
no labels and, like any relative score, says where to look first, not who colluded.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

MEET = 3
COMBINED = ("tenders", "closest_rival_tenders", "rotating_rivals", "win_share")
FEATURES = ("tenders", "co_bidders", "closest_rival_tenders", "rotating_rivals", "win_share", "mean_tender_score")


def firm_screens(connection: duckdb.DuckDBPyConnection, judged: pa.Table) -> pa.Table:
    """One row per firm of table `bids` (with bidders), its screens and score; label 1 when any of its bids is."""
    connection.register("_judged", judged.select(["source", "tender", "lot", "score"]))
    try:
        table = connection.sql(f"""
            WITH b AS (
                SELECT source || chr(31) || tender || chr(31) || coalesce(lot, '') AS tender_key, bidder, winner, label
                FROM bids WHERE bidder IS NOT NULL
            ),
            shared AS (
                SELECT x.bidder AS firm, y.bidder AS rival, count(DISTINCT x.tender_key) AS tenders
                FROM b AS x JOIN b AS y ON x.tender_key = y.tender_key AND x.bidder <> y.bidder
                GROUP BY ALL
            ),
            winners AS (SELECT DISTINCT tender_key, bidder AS winner FROM b WHERE winner = 1),
            rotating AS (
                SELECT x.bidder AS firm, count(DISTINCT w.winner) AS rotating_rivals
                FROM b AS x
                JOIN winners AS w ON w.tender_key = x.tender_key AND w.winner <> x.bidder
                JOIN shared AS s ON s.firm = x.bidder AND s.rival = w.winner AND s.tenders >= {MEET}
                WHERE coalesce(x.winner, 0) = 0
                GROUP BY ALL
            ),
            judged AS (
                SELECT source || chr(31) || tender || chr(31) || coalesce(lot, '') AS tender_key, score FROM _judged
            ),
            scores AS (SELECT DISTINCT b.bidder, b.tender_key, j.score FROM judged AS j JOIN b USING (tender_key)),
            firms AS (
                SELECT bidder AS firm, count(DISTINCT tender_key) AS tenders,
                       CASE WHEN count(winner) > 0 THEN avg(coalesce(winner, 0)) END AS win_share, max(label) AS label
                FROM b GROUP BY ALL
            )
            SELECT f.firm, f.tenders, coalesce(c.co_bidders, 0) AS co_bidders,
                   coalesce(c.closest_rival_tenders, 0) AS closest_rival_tenders,
                   coalesce(r.rotating_rivals, 0) AS rotating_rivals, f.win_share,
                   (SELECT avg(score) FROM scores AS s WHERE s.bidder = f.firm) AS mean_tender_score, f.label
            FROM firms AS f
            LEFT JOIN (
                SELECT firm, count(*) AS co_bidders, max(tenders) AS closest_rival_tenders FROM shared GROUP BY ALL
            ) AS c USING (firm)
            LEFT JOIN rotating AS r USING (firm)
            ORDER BY f.firm
        """).to_arrow_table()
    finally:
        connection.unregister("_judged")
    return table.append_column("score", pa.array(firm_score(table), pa.float64()))


def _percentile(values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile among the defined values, ties sharing their rank; NaN stays NaN."""
    from scipy.stats import rankdata

    out = np.full(len(values), np.nan)
    defined = ~np.isnan(values)
    if defined.any():
        out[defined] = (rankdata(values[defined]) - 0.5) / defined.sum()
    return out


def firm_score(table: pa.Table) -> np.ndarray:
    ranks = []
    for name in COMBINED:
        values = table.column(name).to_numpy(zero_copy_only=False).astype(float)
        if not np.isnan(values).all():
            ranks.append(_percentile(values))
    if not ranks:
        return np.full(table.num_rows, np.nan)
    combined = np.asarray(np.round(np.nanmean(np.vstack(ranks), axis=0), 6), dtype=float)
    return combined


def evaluate_firms(table: pa.Table) -> dict[str, Any]:
    """ROC AUC of the firm score and of each firm screen alone, on the labelled firms."""
    from sklearn.metrics import roc_auc_score

    labels = np.array([-1 if value is None else value for value in table.column("label").to_pylist()])
    known = labels >= 0
    y = labels[known]
    result: dict[str, Any] = {"firms": int(known.sum()), "members": int(y.sum())}
    if len(set(y.tolist())) < 2:
        return {**result, "auc": None, "baselines": {}, "reason": "one class only: no ranking to judge"}
    scores = table.column("score").to_numpy(zero_copy_only=False).astype(float)[known]
    baselines = {}
    for name in FEATURES:
        values = table.column(name).to_numpy(zero_copy_only=False).astype(float)[known]
        if np.isnan(values).all():
            continue
        filled = np.where(np.isnan(values), np.nanmedian(values), values)
        baselines[name] = round(float(roc_auc_score(y, filled)), 4)
    return {**result, "auc": round(float(roc_auc_score(y, scores)), 4), "baselines": baselines}
