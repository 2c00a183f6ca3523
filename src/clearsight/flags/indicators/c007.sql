-- C007 Many contract amendments: the most amendments of any contract of the process, at or above a threshold.
WITH amended AS (
    SELECT ocid, max(amendment_count) AS amendments, count(*) AS contracts
    FROM contracts WHERE dataset = ${dataset} GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN a.ocid IS NULL THEN 'insufficient_data' WHEN a.amendments >= ${threshold} THEN 'flagged' ELSE 'clear'
    END AS status,
    a.amendments AS value, ${threshold} AS threshold,
    to_json({'contracts': a.contracts, 'reason': CASE WHEN a.ocid IS NULL THEN 'no contract published' END}) AS evidence
FROM ${scope} AS p LEFT JOIN amended AS a ON a.ocid = p.ocid
