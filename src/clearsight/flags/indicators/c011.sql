-- C011 Buyer's high single-bid share: among a buyer's open and selective procedures that publish the number of
-- tenderers, the share with exactly one.
WITH competitive AS (
    SELECT buyer_id, count(*) AS processes, count(*) FILTER (WHERE number_of_tenderers = 1) AS single
    FROM ${scope} AS p
    WHERE buyer_id IS NOT NULL AND procurement_method IN ('open', 'selective') AND number_of_tenderers IS NOT NULL
    GROUP BY buyer_id
)
SELECT
    'buyer' AS subject_type, buyer_id AS subject_id, NULL AS ocid,
    CASE
        WHEN processes < ${minimum_processes} THEN 'insufficient_data'
        WHEN single / processes >= ${threshold} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    single / processes AS value, ${threshold} AS threshold,
    to_json({
        'single': single, 'processes': processes,
        'reason': CASE WHEN processes < ${minimum_processes}
                       THEN 'fewer than ' || ${minimum_processes} || ' competitive procedures' END
    }) AS evidence
FROM competitive
