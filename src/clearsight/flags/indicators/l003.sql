-- L003 Paid twice: two payroll records of the same pay period that are the same person.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'payroll~payroll'),
payees AS (SELECT * FROM ${registry} WHERE kind = 'payroll'),
per_record AS (
    SELECT s.record_id, list(s.other ORDER BY s.other) AS others, max(s.match_probability) AS probability,
           arg_max(s.explanation, s.match_probability) AS explanation
    FROM ${same_person} AS s
    JOIN payees AS x ON x.record_id = s.record_id
    JOIN payees AS y ON y.record_id = s.other
    WHERE s.linkage = 'payroll~payroll' AND s.match_probability >= ${threshold}
      AND x.pay_period IS NOT DISTINCT FROM y.pay_period
    GROUP BY s.record_id
)
SELECT
    'payroll_record' AS subject_type, p.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN r.record_id IS NOT NULL THEN 'flagged' ELSE 'clear' END
        AS status,
    coalesce(array_length(r.others), 0) AS value, 0 AS threshold,
    to_json({
        'name': coalesce(p.full_name, concat_ws(' ', p.given_name, p.family_name)), 'employer': p.employer,
        'pay_period': p.pay_period, 'amount': p.amount, 'other_records': r.others,
        'match_probability': r.probability, 'explanation': CAST(r.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the payroll has not been deduplicated (clearsight link registries)' END
    }) AS evidence
FROM payees AS p CROSS JOIN run LEFT JOIN per_record AS r ON r.record_id = p.record_id
