-- C022 Year-end spending spike: share of a buyer's dated active awards dated in December.
WITH buyers AS (
    SELECT p.buyer_id, count(*) AS awards, count(*) FILTER (WHERE month(a.date) = 12) AS december
    FROM ${scope} AS p
    JOIN awards AS a ON a.dataset = ${dataset} AND a.ocid = p.ocid
    WHERE a.status = 'active' AND a.date IS NOT NULL AND p.buyer_id IS NOT NULL
    GROUP BY p.buyer_id
)
SELECT
    'buyer' AS subject_type, buyer_id AS subject_id, NULL AS ocid,
    CASE WHEN awards < ${minimum_awards} THEN 'insufficient_data'
         WHEN december / awards >= ${threshold} THEN 'flagged' ELSE 'clear' END AS status,
    december / awards AS value, ${threshold} AS threshold,
    to_json({'december': december, 'awards': awards,
             'reason': CASE WHEN awards < ${minimum_awards} THEN 'fewer than ' || ${minimum_awards} || ' dated awards'
                       END}) AS evidence
FROM buyers
