-- C006 Contract value far above award value: contract value / value of its award (contracts/awardID) - 1, in the
-- same currency, the largest per process, above a threshold.
WITH increases AS (
    SELECT c.ocid, c.value_amount AS contract_value, a.value_amount AS award_value,
           c.value_amount / a.value_amount - 1 AS increase, c.amendment_count
    FROM contracts AS c
    JOIN awards AS a ON a.dataset = c.dataset AND a.ocid = c.ocid AND a.award_id = c.award_id
    WHERE c.dataset = ${dataset} AND a.value_amount > 0 AND c.value_amount IS NOT NULL
      AND c.value_currency = a.value_currency
),
largest AS (  -- the contract with the largest increase (ties: the largest contract value), one row per process
    SELECT ocid, contract_value, award_value, increase, amendments FROM (
        SELECT ocid, contract_value, award_value, increase,
               max(amendment_count) OVER (PARTITION BY ocid) AS amendments,
               row_number() OVER (PARTITION BY ocid ORDER BY increase DESC, contract_value DESC, award_value DESC)
                   AS rank
        FROM increases)
    WHERE rank = 1
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN l.ocid IS NULL THEN 'insufficient_data' WHEN l.increase > ${threshold} THEN 'flagged' ELSE 'clear' END AS status,
    l.increase AS value, ${threshold} AS threshold,
    to_json({
        'contract_value': l.contract_value, 'award_value': l.award_value, 'amendments': l.amendments,
        'reason': CASE WHEN l.ocid IS NULL THEN 'no contract with a value linked to an award valued in the same currency'
                  END
    }) AS evidence
FROM ${scope} AS p LEFT JOIN largest AS l ON l.ocid = p.ocid
