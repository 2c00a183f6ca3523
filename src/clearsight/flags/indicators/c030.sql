-- C030 Payment before contract signature: whole days from the earliest transaction to contracts/dateSigned.
WITH early AS (
    SELECT c.ocid, max(trunc((epoch(c.date_signed) - epoch(t.date)) / 86400)) AS days
    FROM contracts AS c
    JOIN transactions AS t ON t.dataset = c.dataset AND t.ocid = c.ocid AND t.contract_id = c.contract_id
    WHERE c.dataset = ${dataset} AND c.date_signed IS NOT NULL AND t.date IS NOT NULL
    GROUP BY c.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN e.ocid IS NULL THEN 'insufficient_data' WHEN e.days > 0 THEN 'flagged' ELSE 'clear' END AS status,
    e.days AS value, 0 AS threshold,
    to_json({'reason': CASE WHEN e.ocid IS NULL THEN 'no dated payment on a signed contract' END}) AS evidence
FROM ${scope} AS p LEFT JOIN early AS e ON e.ocid = p.ocid
