-- L005 Duplicate beneficiary: one person enrolled twice in a programme, or in two programmes that exclude each
-- other.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'beneficiaries~beneficiaries'),
enrolled AS (SELECT * FROM ${registry} WHERE kind = 'beneficiaries'),
exclusive AS ${exclusive_pairs},
per_record AS (
    SELECT s.record_id, list(s.other ORDER BY s.other) AS others, list(DISTINCT y.programme) AS other_programmes,
           max(s.match_probability) AS probability, arg_max(s.explanation, s.match_probability) AS explanation
    FROM ${same_person} AS s
    JOIN enrolled AS x ON x.record_id = s.record_id
    JOIN enrolled AS y ON y.record_id = s.other
    WHERE s.linkage = 'beneficiaries~beneficiaries' AND s.match_probability >= ${threshold}
      AND (x.programme = y.programme OR EXISTS (
          SELECT 1 FROM exclusive AS e
          WHERE (e.first = x.programme AND e.second = y.programme) OR (e.first = y.programme AND e.second = x.programme)))
    GROUP BY s.record_id
)
SELECT
    'beneficiary' AS subject_type, e.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN r.record_id IS NOT NULL THEN 'flagged' ELSE 'clear' END
        AS status,
    coalesce(array_length(r.others), 0) AS value, 0 AS threshold,
    to_json({
        'name': coalesce(e.full_name, concat_ws(' ', e.given_name, e.family_name)), 'programme': e.programme,
        'household_id': e.household_id, 'other_records': r.others, 'other_programmes': r.other_programmes,
        'match_probability': r.probability, 'explanation': CAST(r.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the beneficiaries have not been deduplicated '
                                             || '(clearsight link registries)' END
    }) AS evidence
FROM enrolled AS e CROSS JOIN run LEFT JOIN per_record AS r ON r.record_id = e.record_id
