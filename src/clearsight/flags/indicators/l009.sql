-- L009 Eligible but not enrolled: a living person of the civil registry who meets the rule of a programme that
-- everyone eligible should receive, and matches none of its beneficiaries (an exclusion error).
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'beneficiaries~civil'),
rules AS ${rules},
people AS (
    SELECT *, coalesce(CAST(${as_of} AS DATE), current_date) AS as_of FROM ${registry} WHERE kind = 'civil'
),
eligible AS (
    SELECT p.* EXCLUDE (programme), r.programme, r.min_age, r.max_age
    FROM people AS p JOIN rules AS r ON list_contains(${universal_programmes}, r.programme)
    WHERE (p.date_of_death IS NULL OR p.date_of_death > p.as_of) AND p.date_of_birth IS NOT NULL
      AND (r.min_age IS NULL OR date_add(p.date_of_birth, to_years(r.min_age)) <= p.as_of)
      AND (r.max_age IS NULL OR date_add(p.date_of_birth, to_years(r.max_age + 1)) > p.as_of)
),
enrolled AS (
    SELECT DISTINCT l.right_id AS person, e.programme
    FROM ${links} AS l JOIN ${registry} AS e ON e.kind = 'beneficiaries' AND e.record_id = l.left_id
    WHERE l.linkage = 'beneficiaries~civil'
      AND l.match_weight - CAST(json_extract(l.explanation, '$$.prior') AS DOUBLE) >= ${min_evidence}
)
SELECT
    'civil_person' AS subject_type, g.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN n.person IS NULL THEN 'flagged' ELSE 'clear' END AS status,
    CASE WHEN n.person IS NULL THEN 1 ELSE 0 END AS value, 0 AS threshold,
    to_json({
        'name': coalesce(g.full_name, concat_ws(' ', g.given_name, g.family_name)), 'programme': g.programme,
        'date_of_birth': g.date_of_birth, 'address': g.address, 'as_of': g.as_of,
        'rule': {'min_age': g.min_age, 'max_age': g.max_age},
        'reason': CASE WHEN run.runs = 0 THEN 'the beneficiaries have not been linked to the civil registry '
                                             || '(clearsight link registries)' END
    }) AS evidence
FROM eligible AS g CROSS JOIN run LEFT JOIN enrolled AS n ON n.person = g.record_id AND n.programme = g.programme
