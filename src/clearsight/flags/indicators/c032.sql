-- C032 Single bid priced at the estimate: a competitive procedure with one tenderer whose one active award is
-- at or above `ratio` times the estimate (same currency).
WITH single AS (
    SELECT ocid, any_value(value_amount) AS award_value, any_value(value_currency) AS currency
    FROM awards WHERE dataset = ${dataset} AND status = 'active' GROUP BY ocid HAVING count(*) = 1
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN p.procurement_method NOT IN ('open', 'selective') OR p.number_of_tenderers IS DISTINCT FROM 1
            THEN 'not_applicable'
        WHEN s.award_value IS NULL OR p.tender_value_amount IS NULL OR p.tender_value_amount <= 0
             OR s.currency IS DISTINCT FROM p.tender_value_currency THEN 'insufficient_data'
        WHEN s.award_value / p.tender_value_amount >= ${ratio} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    s.award_value / p.tender_value_amount AS value, ${ratio} AS threshold,
    to_json({'award_value': s.award_value, 'estimate': p.tender_value_amount,
             'reason': CASE
                WHEN p.procurement_method NOT IN ('open', 'selective') OR p.number_of_tenderers IS DISTINCT FROM 1
                    THEN 'not a competitive procedure with a single tenderer'
                WHEN s.award_value IS NULL OR p.tender_value_amount IS NULL OR p.tender_value_amount <= 0
                     OR s.currency IS DISTINCT FROM p.tender_value_currency
                    THEN 'no single valued award and estimate in one currency' END}) AS evidence
FROM ${scope} AS p LEFT JOIN single AS s ON s.ocid = p.ocid
