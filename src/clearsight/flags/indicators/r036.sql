-- R036 Lowest bid disqualified: among submitted bids (valid, disqualified, pending) in a process that compares
-- prices and whose awards are final, a disqualified bid has the lowest amount. Every submitted bid needs an
-- amount in the main currency. Value: the lowest amount.
WITH submitted AS (
    SELECT b.ocid, b.status, b.amount_main, b.value_amount
    FROM ${scope} AS p
    JOIN ${awards_final} AS f ON f.ocid = p.ocid AND f.all_final
    JOIN ${bids_main} AS b ON b.ocid = p.ocid
    WHERE b.status IN ('valid', 'disqualified', 'pending')
),
per_process AS (
    SELECT ocid,
           count(*) AS bids,
           count(*) FILTER (WHERE amount_main IS NULL) AS unpriced,
           min(amount_main) AS lowest,
           min(amount_main) FILTER (WHERE status = 'disqualified') AS lowest_disqualified,
           count(*) FILTER (WHERE status = 'disqualified') AS disqualified
    FROM submitted GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN NOT (${price_comparison}) THEN 'not_applicable'
        WHEN s.ocid IS NULL OR s.unpriced > 0 THEN 'insufficient_data'
        WHEN s.lowest_disqualified = s.lowest THEN 'flagged'
        ELSE 'clear'
    END AS status,
    s.lowest AS value, s.lowest_disqualified AS threshold,
    to_json({
        'submitted_bids': s.bids, 'disqualified_bids': s.disqualified, 'lowest_bid': s.lowest,
        'lowest_disqualified_bid': s.lowest_disqualified,
        'reason': CASE
            WHEN NOT (${price_comparison}) THEN 'the profile says this procedure does not compare prices'
            WHEN s.ocid IS NULL THEN 'no submitted bids, or awards not final'
            WHEN s.unpriced > 0 THEN 'a submitted bid has no amount in the main currency'
        END
    }) AS evidence
FROM ${scope} AS p
LEFT JOIN per_process AS s ON s.ocid = p.ocid
