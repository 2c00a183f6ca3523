-- L001 Ghost worker: a payroll record whose payee matches no one in the civil registry.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'payroll~civil'),
payees AS (SELECT * FROM ${registry} WHERE kind = 'payroll'),
best AS (SELECT * FROM ${best_civil} WHERE kind = 'payroll')
SELECT
    'payroll_record' AS subject_type, p.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data'
         WHEN b.evidence IS NULL OR b.evidence < ${min_evidence} THEN 'flagged' ELSE 'clear' END AS status,
    b.evidence AS value, ${min_evidence} AS threshold,
    to_json({
        'name': coalesce(p.full_name, concat_ws(' ', p.given_name, p.family_name)),
        'date_of_birth': p.date_of_birth, 'national_id': p.national_id, 'employer': p.employer,
        'pay_period': p.pay_period, 'amount': p.amount, 'bank_account': p.bank_account,
        'closest_person': b.person, 'match_probability': b.probability, 'explanation': CAST(b.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the payroll has not been linked to the civil registry '
                                             || '(clearsight link registries)' END
    }) AS evidence
FROM payees AS p CROSS JOIN run LEFT JOIN best AS b ON b.record_id = p.record_id
