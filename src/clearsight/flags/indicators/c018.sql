-- C018 Supplier not identifiable: a supplier of an active award with no identifier (scheme and id) among the
-- process's parties.
WITH suppliers AS (
    SELECT DISTINCT s.ocid, s.supplier_id
    FROM award_suppliers AS s
    JOIN awards AS a ON a.dataset = s.dataset AND a.ocid = s.ocid AND a.award_position = s.award_position
    WHERE s.dataset = ${dataset} AND a.status = 'active'
),
identified AS (
    SELECT DISTINCT ocid, party_id FROM parties
    WHERE dataset = ${dataset} AND identifier_scheme IS NOT NULL AND identifier_id IS NOT NULL
),
per_process AS (
    SELECT s.ocid, count(*) AS suppliers,
           count(*) FILTER (WHERE i.party_id IS NULL) AS unidentified,
           list_sort(list(s.supplier_id) FILTER (WHERE i.party_id IS NULL)) AS which
    FROM suppliers AS s LEFT JOIN identified AS i ON i.ocid = s.ocid AND i.party_id = s.supplier_id
    GROUP BY s.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN x.ocid IS NULL THEN 'not_applicable' WHEN x.unidentified > 0 THEN 'flagged' ELSE 'clear' END AS status,
    x.unidentified AS value, 0 AS threshold,
    to_json({'unidentified_suppliers': x.which, 'reason': CASE WHEN x.ocid IS NULL THEN 'no active award' END})
        AS evidence
FROM ${scope} AS p LEFT JOIN per_process AS x ON x.ocid = p.ocid
