-- C010 Supplier dominates a buyer's spending: the largest share of a buyer's awarded value (active awards to one
-- supplier, main currency) that goes to one supplier, for buyers with at least minimum_awards awards.
WITH awarded AS (
    SELECT p.buyer_id, s.supplier_id, a.value_amount AS value
    FROM ${scope} AS p
    JOIN awards AS a ON a.dataset = ${dataset} AND a.ocid = p.ocid
    JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid AND s.award_position = a.award_position
    WHERE a.status = 'active' AND a.supplier_count = 1 AND a.value_amount > 0
      AND a.value_currency = ${main_currency} AND p.buyer_id IS NOT NULL AND s.supplier_id IS NOT NULL
),
pairs AS (
    SELECT buyer_id, supplier_id, sum(value) AS value FROM awarded GROUP BY buyer_id, supplier_id
),
buyers AS (
    SELECT a.buyer_id, count(*) AS awards, sum(a.value) AS total FROM awarded AS a GROUP BY a.buyer_id
),
top AS (
    SELECT buyer_id, arg_max(supplier_id, value) AS top_supplier, max(value) AS top_value
    FROM pairs GROUP BY buyer_id
)
SELECT
    'buyer' AS subject_type, b.buyer_id AS subject_id, NULL AS ocid,
    CASE
        WHEN b.awards < ${minimum_awards} THEN 'insufficient_data'
        WHEN t.top_value / b.total > ${threshold} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    t.top_value / b.total AS value, ${threshold} AS threshold,
    to_json({
        'top_supplier': t.top_supplier, 'top_supplier_value': t.top_value, 'total_value': b.total,
        'awards': b.awards,
        'reason': CASE WHEN b.awards < ${minimum_awards} THEN 'fewer than ' || ${minimum_awards} || ' awards' END
    }) AS evidence
FROM buyers AS b JOIN top AS t ON t.buyer_id = b.buyer_id
