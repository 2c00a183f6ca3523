-- R025 Excessive unsuccessful bids: among "top tenderers" (bids submitted at or above a percentile), the
-- ratio of processes won to processes bid in is at or below the lower fence Q1 - 1.5 IQR.
WITH participations AS (
    -- Each tenderer counts once per process (valid bids by one tenderer), in processes with one winner.
    SELECT DISTINCT t.ocid, t.tenderer_id, (t.tenderer_id = w.winner) AS won
    FROM ${scope} AS p
    JOIN ${awards_final} AS f ON f.ocid = p.ocid AND f.all_final AND f.active_awards = 1
    JOIN ${sole_winner} AS w ON w.ocid = p.ocid
    JOIN ${bid_tenderer} AS t ON t.ocid = p.ocid AND t.status = 'valid'
),
tenderers AS (
    SELECT tenderer_id, count(*) AS submitted, count(*) FILTER (WHERE won) AS won,
           count(*) FILTER (WHERE won) / count(*) AS ratio
    FROM participations GROUP BY tenderer_id
),
fence AS (
    SELECT (SELECT count(*) FROM tenderers) AS sample, ${top} AS top, ${q1} AS q1, ${q3} AS q3
)
SELECT
    'tenderer' AS subject_type, t.tenderer_id AS subject_id, NULL AS ocid,
    CASE
        WHEN ${fixed_threshold} IS NULL AND fence.sample < ${minimum_sample} THEN 'insufficient_data'
        WHEN t.submitted >= fence.top
             AND t.ratio < coalesce(${fixed_threshold}, fence.q1 - 1.5 * (fence.q3 - fence.q1)) THEN 'flagged'
        ELSE 'clear'
    END AS status,
    t.ratio AS value,
    coalesce(${fixed_threshold}, fence.q1 - 1.5 * (fence.q3 - fence.q1)) AS threshold,
    to_json({
        'processes_bid': t.submitted, 'processes_won': t.won, 'top_tenderer_minimum_bids': fence.top,
        'q1': fence.q1, 'q3': fence.q3, 'tenderers': fence.sample,
        'reason': CASE WHEN ${fixed_threshold} IS NULL AND fence.sample < ${minimum_sample}
                       THEN 'too few tenderers to compute the fences' END
    }) AS evidence
FROM tenderers AS t CROSS JOIN fence
