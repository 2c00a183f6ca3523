-- C009 Round-number award: an active award of at least minimum_value whose value is a multiple of round_to.
WITH awarded AS (
    SELECT ocid, max(value_amount) FILTER (WHERE value_amount % ${round_to} = 0) AS round_value,
           max(value_amount) AS largest
    FROM awards
    WHERE dataset = ${dataset} AND status = 'active' AND value_amount >= ${minimum_value}
    GROUP BY ocid
),
valued AS (
    SELECT DISTINCT ocid FROM awards WHERE dataset = ${dataset} AND status = 'active' AND value_amount IS NOT NULL
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN a.round_value IS NOT NULL THEN 'flagged'
        WHEN a.ocid IS NOT NULL THEN 'clear'
        WHEN v.ocid IS NOT NULL THEN 'not_applicable'
        ELSE 'insufficient_data'
    END AS status,
    coalesce(a.round_value, a.largest) AS value, ${round_to} AS threshold,
    to_json({
        'reason': CASE WHEN a.ocid IS NULL AND v.ocid IS NOT NULL THEN 'awards below the minimum value'
                       WHEN a.ocid IS NULL THEN 'no active award with a value' END
    }) AS evidence
FROM ${scope} AS p
LEFT JOIN awarded AS a ON a.ocid = p.ocid
LEFT JOIN valued AS v ON v.ocid = p.ocid
