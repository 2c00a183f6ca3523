-- R003 Short submission period: whole days from tender/tenderPeriod/startDate to endDate, below a threshold.
WITH periods AS (
    SELECT
        p.ocid,
        p.procurement_method,
        p.procurement_method_details,
        p.tender_period_start,
        p.tender_period_end,
        ${method_applies} AS applies,
        ${threshold_days} AS threshold_days,
        trunc((epoch(p.tender_period_end) - epoch(p.tender_period_start)) / 86400) AS days
    FROM ${scope} AS p
)
SELECT
    'process' AS subject_type,
    ocid AS subject_id,
    ocid,
    CASE
        WHEN NOT applies THEN 'not_applicable'
        WHEN days IS NULL THEN 'insufficient_data'
        WHEN days < threshold_days THEN 'flagged'
        ELSE 'clear'
    END AS status,
    days AS value,
    threshold_days AS threshold,
    to_json({
        'start_date': tender_period_start,
        'end_date': tender_period_end,
        'procurement_method': procurement_method,
        'procurement_method_details': procurement_method_details,
        'reason': CASE
            WHEN NOT applies THEN 'procurement method not checked by this profile'
            WHEN tender_period_start IS NULL AND tender_period_end IS NULL THEN 'tender period not published'
            WHEN tender_period_start IS NULL THEN 'tender period start date missing or invalid'
            WHEN tender_period_end IS NULL THEN 'tender period end date missing or invalid'
        END
    }) AS evidence
FROM periods
