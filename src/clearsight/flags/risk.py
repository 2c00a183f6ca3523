"""Composite risk: per process, buyer and supplier, from one flag run's verdicts.

The corruption-risk index (CRI) follows the Government Transparency Institute's approach: the mean of the
available binary red flags, counting only indicators that could judge the subject (flagged or clear), so that
"insufficient data" never reads as "no risk". The weighted score uses the profile's weights instead of equal
ones. A buyer's or supplier's score pools its own indicators with those of its processes (for a supplier: the
processes it won).
"""

from __future__ import annotations

from clearsight.engine import Backend
from clearsight.flags.base import sql_literal
from clearsight.flags.profile import Profile


def score_sql(run_id: str, dataset: str, profile: Profile) -> str:
    weights = " ".join(
        f"WHEN {sql_literal(code)} THEN {float(weight)!r}" for code, weight in sorted(profile.weights.items())
    )
    weight = f"CASE indicator {weights} ELSE 1.0 END" if weights else "1.0"
    run, d = sql_literal(run_id), sql_literal(dataset)
    return f"""
        WITH verdicts AS (
            SELECT subject_type, subject_id, ocid, indicator, status = 'flagged' AS flagged, {weight} AS weight
            FROM flag_results
            WHERE run_id = {run} AND status IN ('flagged', 'clear')
        ),
        process_verdicts AS (
            -- One verdict per process and indicator (tenderer rows of process indicators are not double counted).
            SELECT ocid, indicator, bool_or(flagged) AS flagged, any_value(weight) AS weight
            FROM verdicts WHERE subject_type = 'process' GROUP BY ocid, indicator
        ),
        winners AS (
            SELECT DISTINCT s.supplier_id, s.ocid FROM award_suppliers AS s
            JOIN awards AS a ON a.dataset = s.dataset AND a.ocid = s.ocid AND a.award_position = s.award_position
            WHERE s.dataset = {d} AND a.status = 'active' AND s.supplier_id IS NOT NULL
        ),
        pooled AS (
            SELECT 'process' AS subject_type, ocid AS subject_id, indicator, flagged, weight FROM process_verdicts
            UNION ALL
            SELECT 'buyer', p.buyer_id, v.indicator, v.flagged, v.weight
            FROM process_verdicts AS v JOIN processes AS p ON p.dataset = {d} AND p.ocid = v.ocid
            WHERE p.buyer_id IS NOT NULL
            UNION ALL
            SELECT 'buyer', subject_id, indicator, flagged, weight FROM verdicts WHERE subject_type = 'buyer'
            UNION ALL
            SELECT 'tenderer', w.supplier_id, v.indicator, v.flagged, v.weight
            FROM process_verdicts AS v JOIN winners AS w ON w.ocid = v.ocid
            UNION ALL
            SELECT 'tenderer', subject_id, indicator, flagged, weight FROM verdicts
            WHERE subject_type = 'tenderer' AND ocid IS NULL
        ),
        scored AS (
            SELECT subject_type, subject_id,
                   avg(CASE WHEN flagged THEN 1.0 ELSE 0.0 END) AS cri,
                   sum(CASE WHEN flagged THEN weight ELSE 0 END) / nullif(sum(weight), 0) AS weighted_score,
                   count(*) AS components,
                   count(*) FILTER (WHERE flagged) AS flagged,
                   list_sort(list(DISTINCT indicator) FILTER (WHERE flagged)) AS flagged_indicators
            FROM pooled GROUP BY subject_type, subject_id
        ),
        everyone AS (
            SELECT 'process' AS subject_type, ocid AS subject_id FROM processes WHERE dataset = {d}
            UNION SELECT 'buyer', buyer_id FROM processes WHERE dataset = {d} AND buyer_id IS NOT NULL
            UNION SELECT 'tenderer', supplier_id FROM winners
        )
        SELECT {run}, {d}, e.subject_type, e.subject_id,
               CASE WHEN s.subject_id IS NULL THEN 'insufficient_data' ELSE 'scored' END,
               s.cri, s.weighted_score, coalesce(s.components, 0), coalesce(s.flagged, 0),
               s.flagged_indicators,
               CASE WHEN s.subject_id IS NOT NULL THEN rank() OVER (
                   PARTITION BY e.subject_type, s.subject_id IS NULL
                   ORDER BY s.weighted_score DESC, s.flagged DESC, e.subject_id) END
        FROM everyone AS e
        LEFT JOIN scored AS s ON s.subject_type = e.subject_type AND s.subject_id = e.subject_id
    """


def compute_risk_scores(backend: Backend, run_id: str, dataset: str, profile: Profile) -> int:
    """Write risk_scores rows for a flag run; return how many."""
    backend.execute(f"INSERT INTO risk_scores {score_sql(run_id, dataset, profile)}")
    return int(backend.query_value("SELECT count(*) FROM risk_scores WHERE run_id = ?", [run_id]) or 0)
