-- C005 Late contract signature: whole days from an award's date to the signature of its contract
-- (contracts/awardID), the longest per process, above a threshold.
WITH delays AS (
    SELECT c.ocid, max(trunc((epoch(c.date_signed) - epoch(a.date)) / 86400)) AS days,
           max(c.date_signed) AS date_signed, min(a.date) AS award_date
    FROM contracts AS c
    JOIN awards AS a ON a.dataset = c.dataset AND a.ocid = c.ocid AND a.award_id = c.award_id
    WHERE c.dataset = ${dataset} AND c.date_signed IS NOT NULL AND a.date IS NOT NULL
    GROUP BY c.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN d.days IS NULL THEN 'insufficient_data' WHEN d.days > ${threshold} THEN 'flagged' ELSE 'clear' END AS status,
    d.days AS value, ${threshold} AS threshold,
    to_json({
        'award_date': d.award_date, 'date_signed': d.date_signed,
        'reason': CASE WHEN d.days IS NULL THEN 'no signed contract linked to a dated award' END
    }) AS evidence
FROM ${scope} AS p LEFT JOIN delays AS d ON d.ocid = p.ocid
