-- L006 Ineligible beneficiary: enrolled although dead (civil registry), too young or too old, or above the income
-- ceiling of the programme's rule (from the profile).
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'beneficiaries~civil'),
rules AS ${rules},
enrolled AS (
    SELECT e.*, b.person, b.probability, b.civil_death, coalesce(b.civil_birth, e.date_of_birth) AS born,
           coalesce(CAST(${as_of} AS DATE), current_date) AS as_of
    FROM ${registry} AS e
    LEFT JOIN (SELECT * FROM ${best_civil} WHERE kind = 'beneficiaries' AND probability >= ${threshold}) AS b
        ON b.record_id = e.record_id
    WHERE e.kind = 'beneficiaries'
),
judged AS (
    SELECT e.*, r.min_age, r.max_age, r.max_income,
           (year(e.as_of) - year(e.born))
               - CASE WHEN strftime(e.as_of, '%m-%d') < strftime(e.born, '%m-%d') THEN 1 ELSE 0 END AS age,
           list_filter([
               CASE WHEN e.civil_death <= e.as_of THEN 'deceased on ' || CAST(e.civil_death AS VARCHAR) END,
               CASE WHEN r.min_age IS NOT NULL AND date_add(e.born, to_years(CAST(r.min_age AS INTEGER))) > e.as_of
                    THEN 'younger than ' || CAST(r.min_age AS VARCHAR) END,
               CASE WHEN r.max_age IS NOT NULL
                         AND date_add(e.born, to_years(CAST(r.max_age AS INTEGER) + 1)) <= e.as_of
                    THEN 'older than ' || CAST(r.max_age AS VARCHAR) END,
               CASE WHEN r.max_income IS NOT NULL AND e.income > r.max_income
                    THEN 'income ' || CAST(e.income AS VARCHAR) || ' above ' || CAST(r.max_income AS VARCHAR) END
           ], lambda reason: reason IS NOT NULL) AS reasons
    FROM enrolled AS e LEFT JOIN rules AS r ON r.programme = e.programme
)
SELECT
    'beneficiary' AS subject_type, j.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN array_length(j.reasons) > 0 THEN 'flagged' ELSE 'clear' END
        AS status,
    array_length(j.reasons) AS value, 0 AS threshold,
    to_json({
        'name': coalesce(j.full_name, concat_ws(' ', j.given_name, j.family_name)), 'programme': j.programme,
        'reasons': j.reasons, 'age': j.age, 'income': j.income, 'as_of': j.as_of, 'person': j.person,
        'match_probability': j.probability,
        'rule': {'min_age': j.min_age, 'max_age': j.max_age, 'max_income': j.max_income},
        'reason': CASE WHEN run.runs = 0 THEN 'the beneficiaries have not been linked to the civil registry '
                                             || '(clearsight link registries)' END
    }) AS evidence
FROM judged AS j CROSS JOIN run
