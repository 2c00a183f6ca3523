-- C004 Short decision period: in competitive procedures, whole days from tender/tenderPeriod/endDate to the first
-- active award's date below a threshold (an award before bids closed counts, with a negative value).
WITH decisions AS (
    SELECT ocid, min(date) AS award_date FROM awards
    WHERE dataset = ${dataset} AND status = 'active' GROUP BY ocid
),
periods AS (
    SELECT p.ocid, p.procurement_method, p.tender_period_end, d.award_date,
           trunc((epoch(d.award_date) - epoch(p.tender_period_end)) / 86400) AS days,
           coalesce(list_contains(${procurement_methods}, p.procurement_method), FALSE) AS applies
    FROM ${scope} AS p LEFT JOIN decisions AS d ON d.ocid = p.ocid
)
SELECT
    'process' AS subject_type, ocid AS subject_id, ocid,
    CASE
        WHEN NOT applies THEN 'not_applicable'
        WHEN days IS NULL THEN 'insufficient_data'
        WHEN days < ${threshold} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    days AS value, ${threshold} AS threshold,
    to_json({
        'tender_period_end': tender_period_end, 'award_date': award_date,
        'reason': CASE WHEN NOT applies THEN 'not a procedure checked by this profile'
                       WHEN days IS NULL THEN 'no submission deadline or no dated active award' END
    }) AS evidence
FROM periods
