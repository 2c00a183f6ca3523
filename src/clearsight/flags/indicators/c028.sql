-- C028 Award above the estimate: total active award value / tender/value - 1, same currency, above a threshold.
WITH awarded AS (
    SELECT ocid, sum(value_amount) AS award_value, any_value(value_currency) AS currency,
           count(DISTINCT value_currency) AS currencies
    FROM awards WHERE dataset = ${dataset} AND status = 'active' AND value_amount IS NOT NULL GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN a.ocid IS NULL OR a.currencies > 1 OR p.tender_value_amount IS NULL OR p.tender_value_amount <= 0
             OR a.currency IS DISTINCT FROM p.tender_value_currency THEN 'insufficient_data'
        WHEN a.award_value / p.tender_value_amount - 1 > ${threshold} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    a.award_value / p.tender_value_amount - 1 AS value, ${threshold} AS threshold,
    to_json({'award_value': a.award_value, 'estimate': p.tender_value_amount,
             'reason': CASE WHEN a.ocid IS NULL OR a.currencies > 1 OR p.tender_value_amount IS NULL
                                 OR p.tender_value_amount <= 0 OR a.currency IS DISTINCT FROM p.tender_value_currency
                            THEN 'no valued awards and estimate in one currency' END}) AS evidence
FROM ${scope} AS p LEFT JOIN awarded AS a ON a.ocid = p.ocid
