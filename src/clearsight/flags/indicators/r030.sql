-- R030 Late bid won: a bid by a supplier of an active award is dated after tender/tenderPeriod/endDate, in a
-- process whose awards are final. The value is how many hours late the latest such bid was.
WITH winners AS (
    SELECT DISTINCT s.ocid, s.supplier_id
    FROM award_suppliers AS s
    JOIN awards AS a ON a.dataset = s.dataset AND a.ocid = s.ocid AND a.award_position = s.award_position
    WHERE s.dataset = ${dataset} AND a.status = 'active' AND s.supplier_id IS NOT NULL
),
winning_bids AS (
    SELECT p.ocid, w.supplier_id, b.date, p.tender_period_end
    FROM ${scope} AS p
    JOIN ${awards_final} AS f ON f.ocid = p.ocid AND f.all_final
    JOIN winners AS w ON w.ocid = p.ocid
    JOIN bid_tenderers AS t ON t.dataset = ${dataset} AND t.ocid = p.ocid AND t.tenderer_id = w.supplier_id
    JOIN bids AS b ON b.dataset = t.dataset AND b.ocid = t.ocid AND b.bid_position = t.bid_position
    WHERE b.status IN ('valid', 'disqualified', 'pending')
),
late AS (
    SELECT ocid, supplier_id, max(epoch(date) - epoch(tender_period_end)) / 3600 AS hours_late,
           max(date) AS bid_date, any_value(tender_period_end) AS deadline
    FROM winning_bids WHERE date > tender_period_end GROUP BY ocid, supplier_id
),
per_process AS (
    SELECT ocid, max(hours_late) AS hours_late, max(bid_date) AS bid_date, any_value(deadline) AS deadline,
           list_sort(list(supplier_id)) AS suppliers
    FROM late GROUP BY ocid
),
judgeable AS (
    SELECT DISTINCT ocid FROM winning_bids WHERE date IS NOT NULL AND tender_period_end IS NOT NULL
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN l.ocid IS NOT NULL THEN 'flagged'
        WHEN j.ocid IS NULL THEN 'insufficient_data'
        ELSE 'clear'
    END AS status,
    l.hours_late AS value, 0 AS threshold,
    to_json({
        'late_winning_bidders': l.suppliers, 'bid_date': l.bid_date, 'deadline': l.deadline,
        'reason': CASE WHEN l.ocid IS NULL AND j.ocid IS NULL THEN 'no dated bid by a winner, no submission '
                       || 'deadline, or awards not final' END
    }) AS evidence
FROM ${scope} AS p
LEFT JOIN per_process AS l ON l.ocid = p.ocid
LEFT JOIN judgeable AS j ON j.ocid = p.ocid
UNION ALL
SELECT 'tenderer', supplier_id, ocid, 'flagged', 1, 0, to_json({'hours_late': hours_late, 'bid_date': bid_date})
FROM late
