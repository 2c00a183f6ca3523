-- C008 Purchases split below a threshold: purchases by one buyer in one CPV division (first two digits of the
-- first tender item), valued from lower_ratio x threshold up to the threshold (main currency), at least
-- minimum_count of them within window_days of each other. Every purchase of such a group is flagged.
WITH purchases AS (
    SELECT p.ocid, p.buyer_id, p.tender_value_amount AS value,
           coalesce(p.tender_period_start, p.release_date) AS moment,
           (SELECT left(min(i.classification_id), 2) FROM items AS i
            WHERE i.dataset = ${dataset} AND i.ocid = p.ocid AND i.scope = 'tender') AS cpv_division
    FROM ${scope} AS p
    WHERE p.tender_value_currency = ${main_currency}
),
near AS (
    SELECT * FROM purchases
    WHERE value >= ${lower_ratio} * ${threshold} AND value < ${threshold}
      AND buyer_id IS NOT NULL AND cpv_division IS NOT NULL AND moment IS NOT NULL
),
groups AS (
    SELECT a.ocid, count(*) AS purchases, list(b.ocid ORDER BY b.moment, b.ocid) AS group_ocids
    FROM near AS a
    JOIN near AS b ON b.buyer_id = a.buyer_id AND b.cpv_division = a.cpv_division
        AND abs(epoch(b.moment) - epoch(a.moment)) <= ${window_days} * 86400
    GROUP BY a.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN g.purchases >= ${minimum_count} THEN 'flagged'
        WHEN u.value IS NULL THEN 'insufficient_data'
        ELSE 'clear'
    END AS status,
    g.purchases AS value, ${threshold} AS threshold,
    to_json({
        'buyer_id': p.buyer_id, 'cpv_division': u.cpv_division, 'tender_value': u.value,
        'window_days': ${window_days}, 'group': g.group_ocids,
        'reason': CASE WHEN g.purchases IS NULL AND u.value IS NULL
                       THEN 'no estimated value in the main currency' END
    }) AS evidence
FROM ${scope} AS p
LEFT JOIN purchases AS u ON u.ocid = p.ocid
LEFT JOIN groups AS g ON g.ocid = p.ocid
