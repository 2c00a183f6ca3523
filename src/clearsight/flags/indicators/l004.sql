-- L004 Shared bank account: one bank account receives payroll or benefit payments for several different people.
-- People are told apart by their civil-registry match; a record without one counts as a person of its own.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE right_kind = 'civil'),
payments AS (
    SELECT r.kind, r.record_id, upper(regexp_replace(r.bank_account, '[^0-9A-Za-z]', '', 'g')) AS account,
           coalesce(b.person, r.kind || ':' || r.record_id) AS person,
           coalesce(r.full_name, concat_ws(' ', r.given_name, r.family_name)) AS name
    FROM ${registry} AS r
    LEFT JOIN (SELECT * FROM ${best_civil} WHERE probability >= ${match_threshold}) AS b
        ON b.kind = r.kind AND b.record_id = r.record_id
    WHERE r.kind IN ('payroll', 'beneficiaries') AND nullif(trim(r.bank_account), '') IS NOT NULL
),
accounts AS (
    SELECT account, count(DISTINCT person) AS people, count(*) AS records,
           list(DISTINCT name ORDER BY name) AS names, list(kind || ':' || record_id ORDER BY kind, record_id) AS payments
    FROM payments GROUP BY account HAVING count(*) > 1
)
SELECT
    'bank_account' AS subject_type, a.account AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN a.people >= ${min_people} THEN 'flagged' ELSE 'clear' END
        AS status,
    a.people AS value, ${min_people} AS threshold,
    to_json({
        'people': a.people, 'records': a.records, 'names': a.names, 'payments': a.payments,
        'reason': CASE WHEN run.runs = 0 THEN 'payees have not been linked to the civil registry, so people '
                                             || 'cannot be told apart (clearsight link registries)' END
    }) AS evidence
FROM accounts AS a CROSS JOIN run
