-- R024 Price close to winning bid: (second-lowest valid bid - winning bid) / winning bid is at or below the
-- lower fence Q1 - 1.5 IQR of all processes' ratios (or a fixed threshold).
WITH ratios AS (
    SELECT * FROM ${second_lowest}
),
fence AS (
    SELECT
        (SELECT count(ratio) FROM ratios) AS sample,
        ${q1} AS q1,
        ${q3} AS q3
),
judged AS (
    SELECT
        p.ocid,
        r.ratio, r.winner, r.winner_amount, r.lowest_other, r.lowest_other_tenderer,
        coalesce(${fixed_threshold}, fence.q1 - 1.5 * (fence.q3 - fence.q1)) AS lower_fence,
        fence.q1, fence.q3, fence.sample,
        CASE
            WHEN NOT (${price_comparison}) THEN 'not_applicable'
            WHEN r.ratio IS NULL THEN 'insufficient_data'
            WHEN ${fixed_threshold} IS NULL AND fence.sample < ${minimum_sample} THEN 'insufficient_data'
            -- A fence of 0 (a quarter or more of the processes have two equal lowest bids) cannot tell a close
            -- price from the usual: equal bids are R028's. Cardinal flags nothing then either.
            WHEN ${fixed_threshold} IS NULL AND fence.q1 - 1.5 * (fence.q3 - fence.q1) = 0 AND r.ratio = 0
                THEN 'insufficient_data'
            WHEN r.ratio <= coalesce(${fixed_threshold}, fence.q1 - 1.5 * (fence.q3 - fence.q1)) THEN 'flagged'
            ELSE 'clear'
        END AS status
    FROM ${scope} AS p
    CROSS JOIN fence
    LEFT JOIN ratios AS r ON r.ocid = p.ocid
)
SELECT
    'process' AS subject_type, ocid AS subject_id, ocid, status, ratio AS value, lower_fence AS threshold,
    to_json({
        'winner': winner, 'winning_bid': winner_amount, 'second_lowest_bid': lowest_other,
        'second_lowest_bidder': lowest_other_tenderer, 'q1': q1, 'q3': q3, 'processes_with_ratio': sample,
        'reason': CASE
            WHEN status = 'not_applicable' THEN 'the profile says this procedure does not compare prices'
            WHEN status = 'insufficient_data' AND ratio IS NULL THEN 'no final award to one supplier with a '
                || 'lower-or-equal competing valid bid in the main currency'
            WHEN status = 'insufficient_data' AND sample < ${minimum_sample}
                THEN 'too few processes with a ratio to compute the fence'
            WHEN status = 'insufficient_data' THEN 'the fence is 0: at least a quarter of the processes have their '
                || 'two lowest bids equal, so a ratio of 0 is usual here (identical bids are R028)'
        END
    }) AS evidence
FROM judged
UNION ALL
-- The winner and the runner-up of a flagged process (Cardinal marks each with 0).
SELECT 'tenderer', tenderer, ocid, 'flagged', 0, lower_fence,
    to_json({'role': role, 'ratio': ratio})
FROM (
    SELECT ocid, ratio, lower_fence, winner AS tenderer, 'winner' AS role FROM judged WHERE status = 'flagged'
    UNION ALL
    SELECT ocid, ratio, lower_fence, lowest_other_tenderer, 'second-lowest bidder' FROM judged WHERE status = 'flagged'
)
