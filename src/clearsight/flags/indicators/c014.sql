-- C014 Award values deviate from Benford's law: per buyer, the mean absolute deviation (MAD) between the observed
-- share of each first digit 1-9 of its active award values and Benford's log10(1 + 1/d).
WITH digits AS (
    SELECT p.buyer_id, CAST(left(CAST(CAST(floor(a.value_amount) AS BIGINT) AS VARCHAR), 1) AS INTEGER) AS digit
    FROM ${scope} AS p
    JOIN awards AS a ON a.dataset = ${dataset} AND a.ocid = p.ocid
    WHERE a.status = 'active' AND a.value_amount >= 1 AND p.buyer_id IS NOT NULL
),
totals AS (
    SELECT buyer_id, count(*) AS n FROM digits GROUP BY buyer_id
),
observed AS (
    SELECT t.buyer_id, d.digit, t.n, count(x.digit) / t.n AS share
    FROM totals AS t
    CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS d(digit)
    LEFT JOIN digits AS x ON x.buyer_id = t.buyer_id AND x.digit = d.digit
    GROUP BY t.buyer_id, d.digit, t.n
),
deviation AS (
    SELECT buyer_id, any_value(n) AS n, avg(abs(share - log10(1 + 1 / digit))) AS mad
    FROM observed GROUP BY buyer_id
)
SELECT
    'buyer' AS subject_type, buyer_id AS subject_id, NULL AS ocid,
    CASE WHEN n < ${minimum_values} THEN 'insufficient_data' WHEN mad > ${threshold} THEN 'flagged' ELSE 'clear' END AS status,
    mad AS value, ${threshold} AS threshold,
    to_json({
        'values': n,
        'reason': CASE WHEN n < ${minimum_values} THEN 'fewer than ' || ${minimum_values} || ' award values' END
    }) AS evidence
FROM deviation
