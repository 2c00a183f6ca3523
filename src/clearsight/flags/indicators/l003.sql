-- L003 Paid twice: two payroll records of the same pay period that are the same person.
-- Found two ways: the payroll's deduplication pairs them (unless the civil registry tells them apart), or the civil
-- registry resolves both to one person.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'payroll~payroll'),
payees AS (SELECT * FROM ${registry} WHERE kind = 'payroll'),
civil AS (
    SELECT left_id AS record_id, right_id AS person, match_probability, match_weight, explanation,
           max(match_weight) OVER (PARTITION BY left_id) AS best_weight,
           max(match_probability) OVER (PARTITION BY left_id) AS best_probability
    FROM ${links} WHERE linkage = 'payroll~civil'
),
-- Payees the civil registry names with confidence, with everyone nearly as likely as the best (namesakes born the
-- same day tie when the payee has no identifier): one person is resolved, several are not.
resolved AS (
    SELECT record_id, list(person ORDER BY person) AS people, max(match_probability) AS probability,
           arg_max(explanation, match_weight) AS explanation
    FROM civil
    WHERE best_probability >= ${civil_threshold} AND match_weight >= best_weight - ${civil_margin}
    GROUP BY record_id
),
pairs AS (
    SELECT s.record_id, s.other, s.match_probability AS probability, s.explanation,
           'payroll deduplication' AS found_by, CASE WHEN array_length(a.people) = 1 THEN a.people[1] END AS person
    FROM ${same_person} AS s
    JOIN payees AS x ON x.record_id = s.record_id
    JOIN payees AS y ON y.record_id = s.other
    LEFT JOIN resolved AS a ON a.record_id = s.record_id
    LEFT JOIN resolved AS b ON b.record_id = s.other
    WHERE s.linkage = 'payroll~payroll' AND s.match_probability >= ${threshold}
      AND x.pay_period IS NOT DISTINCT FROM y.pay_period
      -- two payees the civil registry can tell apart are two people, however alike their payroll entries
      AND (a.people IS NULL OR b.people IS NULL OR (array_length(a.people) = 1 AND a.people = b.people))
    UNION ALL
    SELECT a.record_id, b.record_id AS other, least(a.probability, b.probability) AS probability,
           a.explanation, 'civil registry' AS found_by, a.people[1] AS person
    FROM resolved AS a
    JOIN resolved AS b ON b.people = a.people AND b.record_id <> a.record_id
    JOIN payees AS x ON x.record_id = a.record_id
    JOIN payees AS y ON y.record_id = b.record_id
    WHERE array_length(a.people) = 1 AND x.pay_period IS NOT DISTINCT FROM y.pay_period
),
per_record AS (
    SELECT record_id, list(DISTINCT other ORDER BY other) AS others, max(probability) AS probability,
           arg_max(explanation, probability) AS explanation, list(DISTINCT found_by ORDER BY found_by) AS found_by,
           min(person) AS person
    FROM pairs GROUP BY record_id
)
SELECT
    'payroll_record' AS subject_type, p.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN r.record_id IS NOT NULL THEN 'flagged' ELSE 'clear' END
        AS status,
    coalesce(array_length(r.others), 0) AS value, 0 AS threshold,
    to_json({
        'name': coalesce(p.full_name, concat_ws(' ', p.given_name, p.family_name)), 'employer': p.employer,
        'pay_period': p.pay_period, 'amount': p.amount, 'other_records': r.others,
        'match_probability': r.probability, 'found_by': r.found_by, 'civil_person': r.person,
        'explanation': CAST(r.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the payroll has not been deduplicated (clearsight link registries)' END
    }) AS evidence
FROM payees AS p CROSS JOIN run LEFT JOIN per_record AS r ON r.record_id = p.record_id
