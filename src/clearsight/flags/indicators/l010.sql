-- L010 Company director who is an official: a director or owner in the company register is on the payroll of
-- officials; with procurement data in the warehouse, the contracts the company won from the official's employer.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'companies~payroll'),
roles AS (SELECT * FROM ${registry} WHERE kind = 'companies' AND list_contains(${roles}, lower(role))),
officials AS (
    SELECT l.left_id AS record_id, arg_max(l.right_id, l.match_probability) AS official,
           max(l.match_probability) AS probability, arg_max(l.explanation, l.match_probability) AS explanation
    FROM ${links} AS l WHERE l.linkage = 'companies~payroll' AND l.match_probability >= ${threshold}
    GROUP BY l.left_id
),
matched AS (
    SELECT r.* EXCLUDE (employer), o.official, o.probability, o.explanation, p.employer
    FROM roles AS r JOIN officials AS o ON o.record_id = r.record_id
    LEFT JOIN ${registry} AS p ON p.kind = 'payroll' AND p.record_id = o.official
),
contracts AS (
    SELECT m.record_id, count(DISTINCT a.dataset || '/' || a.ocid) AS contracts,
           list(DISTINCT a.ocid ORDER BY a.ocid) AS ocids
    FROM matched AS m
    JOIN award_suppliers AS a ON a.supplier_id = m.company_id
        OR lower(trim(a.supplier_name)) = lower(trim(m.company_name))
    JOIN processes AS p ON p.dataset = a.dataset AND p.ocid = a.ocid
        AND lower(trim(p.buyer_name)) = lower(trim(m.employer))
    GROUP BY m.record_id
)
SELECT
    'company_role' AS subject_type, r.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data'
         WHEN m.record_id IS NULL THEN 'clear'
         WHEN coalesce(c.contracts, 0) > 0 OR NOT ${require_contract} THEN 'flagged'
         ELSE 'clear' END AS status,
    coalesce(c.contracts, 0) AS value, 0 AS threshold,
    to_json({
        'name': coalesce(r.full_name, concat_ws(' ', r.given_name, r.family_name)), 'role': r.role,
        'company_id': r.company_id, 'company_name': r.company_name, 'official_record': m.official,
        'employer': m.employer, 'contracts': coalesce(c.contracts, 0), 'ocids': c.ocids,
        'match_probability': m.probability, 'explanation': CAST(m.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the company register has not been linked to the payroll of officials '
                                             || '(clearsight link registries)' END
    }) AS evidence
FROM roles AS r CROSS JOIN run LEFT JOIN matched AS m ON m.record_id = r.record_id
LEFT JOIN contracts AS c ON c.record_id = r.record_id
