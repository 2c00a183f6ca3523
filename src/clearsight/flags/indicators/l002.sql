-- L002 Paid after death: a payroll record whose payee, as found in the civil registry, died before the pay period.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'payroll~civil'),
payees AS (
    SELECT *, CAST(try_strptime(left(pay_period, 7) || '-01', '%Y-%m-%d') AS DATE) AS period_start
    FROM ${registry} WHERE kind = 'payroll'
),
best AS (SELECT * FROM ${best_civil} WHERE kind = 'payroll' AND probability >= ${threshold})
SELECT
    'payroll_record' AS subject_type, p.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 OR p.period_start IS NULL THEN 'insufficient_data'
         WHEN b.person IS NULL THEN 'not_applicable'
         WHEN b.civil_death < p.period_start THEN 'flagged' ELSE 'clear' END AS status,
    CASE WHEN b.civil_death < p.period_start THEN date_diff('day', b.civil_death, p.period_start) END AS value,
    0 AS threshold,
    to_json({
        'name': coalesce(p.full_name, concat_ws(' ', p.given_name, p.family_name)), 'employer': p.employer,
        'pay_period': p.pay_period, 'amount': p.amount, 'person': b.person, 'date_of_death': b.civil_death,
        'match_probability': b.probability, 'explanation': CAST(b.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the payroll has not been linked to the civil registry '
                                             || '(clearsight link registries)'
                       WHEN p.period_start IS NULL THEN 'no pay period (YYYY-MM) on the record'
                       WHEN b.person IS NULL THEN 'the payee was not found in the civil registry (see L001)' END
    }) AS evidence
FROM payees AS p CROSS JOIN run LEFT JOIN best AS b ON b.record_id = p.record_id
