-- R035 All except winning bid disqualified: one tenderer has valid bids, it is exactly the set of suppliers of
-- the active awards, and at least `threshold` other tenderers had bids disqualified. Value: how many.
WITH bidders AS (
    SELECT b.ocid, b.status, t.tenderer_id
    FROM ${scope} AS p
    JOIN ${awards_final} AS f ON f.ocid = p.ocid AND f.all_final
    JOIN bids AS b ON b.dataset = ${dataset} AND b.ocid = p.ocid
    JOIN bid_tenderers AS t ON t.dataset = b.dataset AND t.ocid = b.ocid AND t.bid_position = b.bid_position
    WHERE b.status IN ('valid', 'disqualified') AND t.tenderer_id IS NOT NULL
),
sets AS (
    SELECT ocid,
           list_sort(list(DISTINCT tenderer_id) FILTER (WHERE status = 'valid')) AS valid,
           list_sort(list(DISTINCT tenderer_id) FILTER (WHERE status = 'disqualified')) AS disqualified
    FROM bidders GROUP BY ocid
),
suppliers AS (
    SELECT s.ocid, list_sort(list(DISTINCT s.supplier_id)) AS awarded
    FROM award_suppliers AS s
    JOIN awards AS a ON a.dataset = s.dataset AND a.ocid = s.ocid AND a.award_position = s.award_position
    WHERE s.dataset = ${dataset} AND a.status = 'active' AND s.supplier_id IS NOT NULL
    GROUP BY s.ocid
),
others AS (
    -- Tenderers with disqualified bids and no valid bid.
    SELECT d.ocid, count(DISTINCT d.tenderer_id) AS others
    FROM bidders AS d
    WHERE d.status = 'disqualified' AND NOT EXISTS (
        SELECT 1 FROM bidders AS v WHERE v.ocid = d.ocid AND v.status = 'valid' AND v.tenderer_id = d.tenderer_id)
    GROUP BY d.ocid
),
judged AS (
    SELECT p.ocid, s.valid, s.disqualified, w.awarded, coalesce(o.others, 0) AS others
    FROM ${scope} AS p
    LEFT JOIN sets AS s ON s.ocid = p.ocid
    LEFT JOIN suppliers AS w ON w.ocid = p.ocid
    LEFT JOIN others AS o ON o.ocid = p.ocid
)
SELECT
    'process' AS subject_type, ocid AS subject_id, ocid,
    CASE
        WHEN valid IS NULL OR awarded IS NULL THEN 'insufficient_data'
        WHEN array_length(valid) = 1 AND valid = awarded AND others >= ${threshold} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    others AS value, ${threshold} AS threshold,
    to_json({
        'winner': valid[1], 'disqualified_tenderers': disqualified, 'awarded_suppliers': awarded,
        'reason': CASE WHEN valid IS NULL OR awarded IS NULL THEN 'no valid bid with tenderers, no active award '
                       || 'with suppliers, or awards not final' END
    }) AS evidence
FROM judged
UNION ALL
-- The winner of a flagged process (Cardinal marks it with 0).
SELECT 'tenderer', valid[1], ocid, 'flagged', 0, ${threshold}, to_json({'role': 'winner', 'disqualified': others})
FROM judged WHERE array_length(valid) = 1 AND valid = awarded AND others >= ${threshold}
