-- R028 Identical bid prices: two or more submitted bids with the same amount and currency, from different sets
-- of tenderers. The value is the number of bidders that share a price.
WITH priced AS (
    SELECT b.ocid, b.bid_position, b.value_amount, b.value_currency,
           list_sort(list(t.tenderer_id)) AS tenderers
    FROM ${scope} AS p
    JOIN bids AS b ON b.dataset = ${dataset} AND b.ocid = p.ocid
    JOIN bid_tenderers AS t ON t.dataset = b.dataset AND t.ocid = b.ocid AND t.bid_position = b.bid_position
    WHERE b.status IN ('valid', 'disqualified', 'pending') AND b.value_amount IS NOT NULL
      AND b.value_currency IS NOT NULL AND t.tenderer_id IS NOT NULL
    GROUP BY b.ocid, b.bid_position, b.value_amount, b.value_currency
),
identical AS (
    SELECT ocid, value_amount, value_currency, list_sort(list(DISTINCT tenderers)) AS bidders
    FROM priced GROUP BY ocid, value_amount, value_currency
    HAVING count(DISTINCT tenderers) >= 2
),
per_process AS (
    SELECT ocid, max(array_length(bidders)) AS sharing,
           list({'amount': value_amount, 'currency': value_currency, 'bidders': bidders}
                ORDER BY value_amount, value_currency) AS prices
    FROM identical GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN NOT (${price_comparison}) THEN 'not_applicable'
        WHEN i.ocid IS NOT NULL THEN 'flagged'
        WHEN NOT p.has_bids THEN 'insufficient_data'
        ELSE 'clear'
    END AS status,
    i.sharing AS value, 2 AS threshold,
    to_json({
        'identical_prices': i.prices,
        'reason': CASE
            WHEN NOT (${price_comparison}) THEN 'the profile says this procedure does not compare prices'
            WHEN i.ocid IS NULL AND NOT p.has_bids THEN 'no bids published'
        END
    }) AS evidence
FROM ${scope} AS p
LEFT JOIN per_process AS i ON i.ocid = p.ocid
UNION ALL
SELECT DISTINCT 'tenderer', tenderer, ocid, 'flagged', 1, 2, to_json({'amount': value_amount, 'currency': value_currency})
FROM (
    SELECT i.ocid, i.value_amount, i.value_currency, unnest(flatten(i.bidders)) AS tenderer
    FROM identical AS i JOIN ${scope} AS p ON p.ocid = i.ocid WHERE ${price_comparison}
)
