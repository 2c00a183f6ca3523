-- C029 Payments exceed the contract value: per contract, the sum of its transactions (same currency) / contract
-- value - 1, the largest per process, above a tolerance.
WITH paid AS (
    SELECT c.ocid, c.contract_id, any_value(c.value_amount) AS contract_value, sum(t.value_amount) AS paid
    FROM contracts AS c
    JOIN transactions AS t ON t.dataset = c.dataset AND t.ocid = c.ocid AND t.contract_id = c.contract_id
    WHERE c.dataset = ${dataset} AND c.value_amount > 0 AND t.value_currency = c.value_currency
    GROUP BY c.ocid, c.contract_id
),
largest AS (
    SELECT ocid, max(paid / contract_value - 1) AS excess, arg_max(paid, paid / contract_value) AS paid,
           arg_max(contract_value, paid / contract_value) AS contract_value
    FROM paid GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN l.ocid IS NULL THEN 'insufficient_data' WHEN l.excess > ${tolerance} THEN 'flagged' ELSE 'clear'
    END AS status,
    l.excess AS value, ${tolerance} AS threshold,
    to_json({'paid': l.paid, 'contract_value': l.contract_value,
             'reason': CASE WHEN l.ocid IS NULL THEN 'no payments on a valued contract in its currency' END})
        AS evidence
FROM ${scope} AS p LEFT JOIN largest AS l ON l.ocid = p.ocid
