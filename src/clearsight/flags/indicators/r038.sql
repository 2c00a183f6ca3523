-- R038 Excessive disqualified bids: per buyer, procuring entity and tenderer, disqualified bids / submitted bids
-- (pending, valid, disqualified) is at or above the upper fence Q3 + 1.5 IQR of its group (or a fixed threshold).
WITH submitted AS (
    SELECT p.ocid, p.buyer_id, p.procuring_entity_id, b.bid_position, (b.status = 'disqualified') AS disqualified
    FROM ${scope} AS p
    JOIN bids AS b ON b.dataset = ${dataset} AND b.ocid = p.ocid
    WHERE b.status IN ('valid', 'disqualified', 'pending')
),
organisations AS (
    SELECT 'buyer' AS subject_type, buyer_id AS subject_id, count(*) FILTER (WHERE disqualified) AS disqualified,
           count(*) AS submitted, ${minimum_contracting_processes} AS minimum
    FROM submitted WHERE buyer_id IS NOT NULL GROUP BY buyer_id
    UNION ALL
    SELECT 'procuring_entity', procuring_entity_id, count(*) FILTER (WHERE disqualified), count(*),
           ${minimum_contracting_processes}
    FROM submitted WHERE procuring_entity_id IS NOT NULL GROUP BY procuring_entity_id
    UNION ALL
    SELECT 'tenderer', t.tenderer_id, count(*) FILTER (WHERE s.disqualified), count(*), ${minimum_submitted_bids}
    FROM submitted AS s
    JOIN bid_tenderers AS t ON t.dataset = ${dataset} AND t.ocid = s.ocid AND t.bid_position = s.bid_position
    WHERE t.tenderer_id IS NOT NULL GROUP BY t.tenderer_id
),
eligible AS (
    SELECT *, disqualified / submitted AS ratio FROM organisations WHERE submitted >= minimum
),
fences AS (
    SELECT 'buyer' AS subject_type, ${q1_buyer} AS q1, ${q3_buyer} AS q3
    UNION ALL SELECT 'procuring_entity', ${q1_procuring_entity}, ${q3_procuring_entity}
    UNION ALL SELECT 'tenderer', ${q1_tenderer}, ${q3_tenderer}
),
judged AS (
    SELECT o.*, o.disqualified / o.submitted AS ratio, f.q1, f.q3,
           count(e.subject_id) OVER (PARTITION BY o.subject_type) AS sample,
           (e.subject_id IS NOT NULL) AS is_eligible,
           coalesce(${fixed_threshold}, f.q3 + 1.5 * (f.q3 - f.q1)) AS upper_fence
    FROM organisations AS o
    JOIN fences AS f ON f.subject_type = o.subject_type
    LEFT JOIN eligible AS e ON e.subject_type = o.subject_type AND e.subject_id = o.subject_id
)
SELECT
    subject_type, subject_id, NULL AS ocid,
    CASE
        WHEN NOT is_eligible THEN 'insufficient_data'
        WHEN ${fixed_threshold} IS NULL AND sample < ${minimum_sample} THEN 'insufficient_data'
        -- No disqualified bid is never a red flag.
        WHEN ratio = 0 THEN 'clear'
        -- A fence of 0 (three quarters of the group never had a bid disqualified) cannot single anyone out: one
        -- disqualified bid in a thousand would be "above" it. Cardinal skips such a group too.
        WHEN ${fixed_threshold} IS NULL AND upper_fence <= 0 THEN 'insufficient_data'
        WHEN ratio >= upper_fence THEN 'flagged'
        ELSE 'clear'
    END AS status,
    ratio AS value, upper_fence AS threshold,
    to_json({
        'disqualified_bids': disqualified, 'submitted_bids': submitted, 'q1': q1, 'q3': q3,
        'organisations_judged': sample,
        'reason': CASE
            WHEN NOT is_eligible THEN 'fewer than ' || minimum || ' submitted bids'
            WHEN ${fixed_threshold} IS NULL AND sample < ${minimum_sample} THEN 'too few organisations to compute '
                || 'the fence'
            WHEN ratio > 0 AND ${fixed_threshold} IS NULL AND upper_fence <= 0 THEN 'the fence is 0: at least three '
                || 'quarters of the group had no bid disqualified, so the group''s spread cannot single anyone out'
        END
    }) AS evidence
FROM judged
