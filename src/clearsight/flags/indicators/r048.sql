-- R048 Heterogeneous supplier: the number of distinct classification prefixes (first `digits` characters) of the
-- items a supplier was awarded (active awards to one supplier) is at or above ceil(Q3 + 1.5 IQR).
WITH awarded AS (
    SELECT s.supplier_id, a.ocid, left(i.classification_id, ${digits}) AS class
    FROM ${scope} AS p
    JOIN awards AS a ON a.dataset = ${dataset} AND a.ocid = p.ocid
    JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid AND s.award_position = a.award_position
    LEFT JOIN items AS i ON i.dataset = a.dataset AND i.ocid = a.ocid AND i.scope = 'award'
        AND i.parent_position = a.award_position
    WHERE a.status = 'active' AND a.supplier_count = 1 AND s.supplier_id IS NOT NULL
),
suppliers AS (
    SELECT supplier_id, count(DISTINCT class) AS classes, count(DISTINCT ocid) AS processes,
           list_sort(list(DISTINCT class) FILTER (WHERE class IS NOT NULL)) AS class_list
    FROM awarded GROUP BY supplier_id
),
eligible AS (
    SELECT * FROM suppliers WHERE processes >= ${minimum_contracting_processes} AND classes > 0
),
fence AS (
    SELECT (SELECT count(*) FROM eligible) AS sample, ${q1} AS q1, ${q3} AS q3
)
SELECT
    'tenderer' AS subject_type, s.supplier_id AS subject_id, NULL AS ocid,
    CASE
        WHEN s.processes < ${minimum_contracting_processes} OR s.classes = 0 THEN 'insufficient_data'
        WHEN ${fixed_threshold} IS NULL AND fence.sample < ${minimum_sample} THEN 'insufficient_data'
        WHEN s.classes >= coalesce(${fixed_threshold}, ceil(fence.q3 + 1.5 * (fence.q3 - fence.q1))) THEN 'flagged'
        ELSE 'clear'
    END AS status,
    s.classes AS value,
    coalesce(${fixed_threshold}, ceil(fence.q3 + 1.5 * (fence.q3 - fence.q1))) AS threshold,
    to_json({
        'classes': s.class_list, 'processes_won': s.processes, 'q1': fence.q1, 'q3': fence.q3,
        'suppliers_judged': fence.sample,
        'reason': CASE
            WHEN s.classes = 0 THEN 'no classified items in its awards'
            WHEN s.processes < ${minimum_contracting_processes} THEN 'fewer than '
                || ${minimum_contracting_processes} || ' processes won'
            WHEN ${fixed_threshold} IS NULL AND fence.sample < ${minimum_sample} THEN 'too few suppliers to compute '
                || 'the fence'
        END
    }) AS evidence
FROM suppliers AS s CROSS JOIN fence
