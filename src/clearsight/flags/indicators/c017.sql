-- C017 Award value not published: active awards without awards/value/amount.
WITH awarded AS (
    SELECT ocid, count(*) AS awards, count(*) FILTER (WHERE value_amount IS NULL) AS unvalued
    FROM awards WHERE dataset = ${dataset} AND status = 'active' GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN a.ocid IS NULL THEN 'not_applicable' WHEN a.unvalued > 0 THEN 'flagged' ELSE 'clear' END AS status,
    a.unvalued AS value, 0 AS threshold,
    to_json({'active_awards': a.awards, 'reason': CASE WHEN a.ocid IS NULL THEN 'no active award' END}) AS evidence
FROM ${scope} AS p LEFT JOIN awarded AS a ON a.ocid = p.ocid
