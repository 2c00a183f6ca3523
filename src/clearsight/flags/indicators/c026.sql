-- C026 Repeated winner with the same buyer: for each buyer and supplier with at least minimum_wins wins, the share
-- of the buyer's processes the supplier bid in (or won) that it won. A supplier is judged by its highest share.
WITH bid_in AS (
    SELECT DISTINCT p.buyer_id, t.tenderer_id AS supplier_id, p.ocid
    FROM ${scope} AS p JOIN bid_tenderers AS t ON t.dataset = ${dataset} AND t.ocid = p.ocid
    WHERE p.buyer_id IS NOT NULL AND t.tenderer_id IS NOT NULL
),
won AS (
    SELECT DISTINCT p.buyer_id, s.supplier_id, p.ocid
    FROM ${scope} AS p
    JOIN awards AS a ON a.dataset = ${dataset} AND a.ocid = p.ocid AND a.status = 'active'
    JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid AND s.award_position = a.award_position
    WHERE p.buyer_id IS NOT NULL AND s.supplier_id IS NOT NULL
),
pairs AS (
    SELECT w.buyer_id, w.supplier_id, count(DISTINCT w.ocid) AS wins,
           (SELECT count(DISTINCT ocid) FROM (
               SELECT ocid FROM bid_in AS b WHERE b.buyer_id = w.buyer_id AND b.supplier_id = w.supplier_id
               UNION SELECT ocid FROM won AS x WHERE x.buyer_id = w.buyer_id AND x.supplier_id = w.supplier_id)) AS bids
    FROM won AS w GROUP BY w.buyer_id, w.supplier_id
),
best AS (
    SELECT supplier_id, arg_max(buyer_id, wins / bids) AS buyer_id, max(wins / bids) AS share,
           arg_max(wins, wins / bids) AS wins, arg_max(bids, wins / bids) AS bids, max(wins) AS most_wins
    FROM pairs WHERE wins >= ${minimum_wins} GROUP BY supplier_id
),
suppliers AS (SELECT DISTINCT supplier_id FROM won)
SELECT
    'tenderer' AS subject_type, s.supplier_id AS subject_id, NULL AS ocid,
    CASE WHEN b.supplier_id IS NULL THEN 'insufficient_data' WHEN b.share >= ${threshold} THEN 'flagged'
         ELSE 'clear' END AS status,
    b.share AS value, ${threshold} AS threshold,
    to_json({'buyer_id': b.buyer_id, 'wins': b.wins, 'bids': b.bids,
             'reason': CASE WHEN b.supplier_id IS NULL THEN 'fewer than ' || ${minimum_wins}
                            || ' wins with any one buyer' END}) AS evidence
FROM suppliers AS s LEFT JOIN best AS b ON b.supplier_id = s.supplier_id
