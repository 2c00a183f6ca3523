-- C036 Winner did not bid: in a process that publishes bids with tenderers, a supplier of an active award is not
-- among the tenderers of any submitted bid.
WITH bidders AS (SELECT * FROM ${submitted_tenderers}),
winners AS (SELECT * FROM ${active_winners}),
per_process AS (
    SELECT w.ocid, list_sort(list(w.supplier_id) FILTER (WHERE b.tenderer_id IS NULL)) AS outsiders,
           count(*) FILTER (WHERE b.tenderer_id IS NULL) AS missing
    FROM winners AS w LEFT JOIN bidders AS b ON b.ocid = w.ocid AND b.tenderer_id = w.supplier_id
    WHERE w.ocid IN (SELECT ocid FROM bidders)
    GROUP BY w.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN x.ocid IS NULL THEN 'not_applicable' WHEN x.missing > 0 THEN 'flagged' ELSE 'clear' END AS status,
    x.missing AS value, 0 AS threshold,
    to_json({'suppliers': x.outsiders,
             'reason': CASE WHEN x.ocid IS NULL THEN 'no published bids with tenderers, or no active award' END})
        AS evidence
FROM ${scope} AS p LEFT JOIN per_process AS x ON x.ocid = p.ocid
