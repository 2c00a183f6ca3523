-- C020 Award without a published contract: active awards that no contract refers to (contracts/awardID).
WITH awarded AS (
    SELECT a.ocid, count(*) AS awards,
           count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM contracts AS c
               WHERE c.dataset = a.dataset AND c.ocid = a.ocid AND c.award_id = a.award_id)) AS uncontracted
    FROM awards AS a WHERE a.dataset = ${dataset} AND a.status = 'active' AND a.award_id IS NOT NULL
    GROUP BY a.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN a.ocid IS NULL THEN 'not_applicable' WHEN a.uncontracted > 0 THEN 'flagged' ELSE 'clear' END AS status,
    a.uncontracted AS value, 0 AS threshold,
    to_json({'active_awards': a.awards, 'reason': CASE WHEN a.ocid IS NULL THEN 'no active award with an id' END})
        AS evidence
FROM ${scope} AS p LEFT JOIN awarded AS a ON a.ocid = p.ocid
