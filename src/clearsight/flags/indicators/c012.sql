-- C012 Award equal to the estimate: the one active award's value is within `tolerance` of tender/value, in the
-- same currency.
WITH single AS (
    SELECT ocid, any_value(value_amount) AS award_value, any_value(value_currency) AS currency
    FROM awards WHERE dataset = ${dataset} AND status = 'active'
    GROUP BY ocid HAVING count(*) = 1
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN s.award_value IS NULL OR p.tender_value_amount IS NULL OR p.tender_value_amount <= 0
             OR s.currency IS DISTINCT FROM p.tender_value_currency THEN 'insufficient_data'
        WHEN abs(s.award_value / p.tender_value_amount - 1) <= ${tolerance} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    s.award_value / p.tender_value_amount - 1 AS value, ${tolerance} AS threshold,
    to_json({
        'award_value': s.award_value, 'estimate': p.tender_value_amount,
        'reason': CASE WHEN s.award_value IS NULL OR p.tender_value_amount IS NULL OR p.tender_value_amount <= 0
                            OR s.currency IS DISTINCT FROM p.tender_value_currency
                       THEN 'no single valued award and estimate in the same currency' END
    }) AS evidence
FROM ${scope} AS p LEFT JOIN single AS s ON s.ocid = p.ocid
