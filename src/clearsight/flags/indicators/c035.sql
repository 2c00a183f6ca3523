-- C035 Consortium member also bids alone: a tenderer on a consortium bid (several tenderers) also submitted a bid
-- alone in the same process.
WITH roles AS (
    SELECT t.ocid, t.tenderer_id, bool_or(b.tenderer_count > 1) AS in_consortium,
           bool_or(b.tenderer_count = 1) AS alone
    FROM bid_tenderers AS t
    JOIN bids AS b ON b.dataset = t.dataset AND b.ocid = t.ocid AND b.bid_position = t.bid_position
    WHERE t.dataset = ${dataset} AND t.tenderer_id IS NOT NULL
      AND b.status IN ('valid', 'disqualified', 'pending')
    GROUP BY t.ocid, t.tenderer_id
),
per_process AS (
    SELECT ocid, count(*) FILTER (WHERE in_consortium AND alone) AS both_ways,
           list_sort(list(tenderer_id) FILTER (WHERE in_consortium AND alone)) AS members,
           bool_or(in_consortium) AS has_consortium
    FROM roles GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN x.ocid IS NULL OR NOT x.has_consortium THEN 'not_applicable'
         WHEN x.both_ways > 0 THEN 'flagged' ELSE 'clear' END AS status,
    x.both_ways AS value, 1 AS threshold,
    to_json({'members': x.members,
             'reason': CASE WHEN x.ocid IS NULL OR NOT x.has_consortium THEN 'no consortium bid' END}) AS evidence
FROM ${scope} AS p LEFT JOIN per_process AS x ON x.ocid = p.ocid
