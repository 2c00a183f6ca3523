-- C021 Buyer's high share of non-open procedures: share of a buyer's procedures (with a method) that are
-- limited or direct.
WITH buyers AS (
    SELECT buyer_id, count(*) AS processes,
           count(*) FILTER (WHERE procurement_method IN ('limited', 'direct')) AS non_open
    FROM ${scope} AS p WHERE buyer_id IS NOT NULL AND procurement_method IS NOT NULL GROUP BY buyer_id
)
SELECT
    'buyer' AS subject_type, buyer_id AS subject_id, NULL AS ocid,
    CASE WHEN processes < ${minimum_processes} THEN 'insufficient_data'
         WHEN non_open / processes >= ${threshold} THEN 'flagged' ELSE 'clear' END AS status,
    non_open / processes AS value, ${threshold} AS threshold,
    to_json({'non_open': non_open, 'processes': processes,
             'reason': CASE WHEN processes < ${minimum_processes}
                            THEN 'fewer than ' || ${minimum_processes} || ' procedures' END}) AS evidence
FROM buyers
