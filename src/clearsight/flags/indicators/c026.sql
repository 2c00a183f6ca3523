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
took_part AS (SELECT buyer_id, supplier_id, ocid FROM bid_in UNION SELECT buyer_id, supplier_id, ocid FROM won),
pairs AS (
    SELECT w.buyer_id, w.supplier_id, w.wins, count(DISTINCT t.ocid) AS bids
    FROM (SELECT buyer_id, supplier_id, count(DISTINCT ocid) AS wins FROM won GROUP BY buyer_id, supplier_id) AS w
    JOIN took_part AS t ON t.buyer_id = w.buyer_id AND t.supplier_id = w.supplier_id
    GROUP BY w.buyer_id, w.supplier_id, w.wins
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
