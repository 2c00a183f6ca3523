-- R058 Heavily discounted bid: (second-lowest valid bid - winning bid) / winning bid is at or above the upper
-- fence Q3 + 1.5 IQR of all processes' ratios (or a fixed threshold). Not judged when the fence is 0.
WITH ratios AS (
    SELECT * FROM ${second_lowest}
),
fence AS (
    SELECT (SELECT count(ratio) FROM ratios) AS sample, ${q1} AS q1, ${q3} AS q3
),
judged AS (
    SELECT
        p.ocid, r.ratio, r.winner, r.winner_amount, r.lowest_other,
        coalesce(${fixed_threshold}, fence.q3 + 1.5 * (fence.q3 - fence.q1)) AS upper_fence,
        fence.q1, fence.q3, fence.sample,
        CASE
            WHEN NOT (${price_comparison}) THEN 'not_applicable'
            WHEN r.ratio IS NULL THEN 'insufficient_data'
            WHEN ${fixed_threshold} IS NULL AND fence.sample < ${minimum_sample} THEN 'insufficient_data'
            WHEN coalesce(${fixed_threshold}, fence.q3 + 1.5 * (fence.q3 - fence.q1)) <= 0 THEN 'insufficient_data'
            WHEN r.ratio >= coalesce(${fixed_threshold}, fence.q3 + 1.5 * (fence.q3 - fence.q1)) THEN 'flagged'
            ELSE 'clear'
        END AS status
    FROM ${scope} AS p
    CROSS JOIN fence
    LEFT JOIN ratios AS r ON r.ocid = p.ocid
)
SELECT
    'process' AS subject_type, ocid AS subject_id, ocid, status, ratio AS value, upper_fence AS threshold,
    to_json({
        'winner': winner, 'winning_bid': winner_amount, 'second_lowest_bid': lowest_other, 'q1': q1, 'q3': q3,
        'processes_with_ratio': sample,
        'reason': CASE
            WHEN status = 'not_applicable' THEN 'the profile says this procedure does not compare prices'
            WHEN status = 'insufficient_data' AND ratio IS NULL THEN 'no final award to one supplier with a '
                || 'lower-or-equal competing valid bid in the main currency'
            WHEN status = 'insufficient_data' AND upper_fence <= 0 THEN 'the fence is 0: most processes have '
                || 'no difference between the two lowest bids'
            WHEN status = 'insufficient_data' THEN 'too few processes with a ratio to compute the fence'
        END
    }) AS evidence
FROM judged
UNION ALL
-- The winner of a flagged process (Cardinal marks it with 0).
SELECT 'tenderer', winner, ocid, 'flagged', 0, upper_fence, to_json({'role': 'winner', 'ratio': ratio})
FROM judged WHERE status = 'flagged'
