-- C034 One supplier wins every lot: in a process whose active awards name lots (awards/relatedLots), one supplier
-- won every lot, and at least minimum_lots lots were awarded.
WITH lot_winners AS (
    SELECT a.ocid, unnest(a.related_lots) AS lot_id, s.supplier_id
    FROM awards AS a
    JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid AND s.award_position = a.award_position
    WHERE a.dataset = ${dataset} AND a.status = 'active' AND s.supplier_id IS NOT NULL
      AND a.related_lots IS NOT NULL AND array_length(a.related_lots) > 0
),
per_process AS (
    SELECT ocid, count(DISTINCT lot_id) AS lots, count(DISTINCT supplier_id) AS suppliers,
           any_value(supplier_id) AS supplier
    FROM lot_winners GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN x.ocid IS NULL OR x.lots < ${minimum_lots} THEN 'not_applicable'
         WHEN x.suppliers = 1 THEN 'flagged' ELSE 'clear' END AS status,
    x.lots AS value, ${minimum_lots} AS threshold,
    to_json({'supplier': CASE WHEN x.suppliers = 1 THEN x.supplier END, 'suppliers': x.suppliers,
             'reason': CASE WHEN x.ocid IS NULL OR x.lots < ${minimum_lots}
                            THEN 'fewer than ' || ${minimum_lots} || ' awarded lots' END}) AS evidence
FROM ${scope} AS p LEFT JOIN per_process AS x ON x.ocid = p.ocid
