-- L008 Deceased voter: a voter whose civil-registry record has a date of death.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'voters~civil'),
voters AS (SELECT * FROM ${registry} WHERE kind = 'voters'),
best AS (SELECT * FROM ${best_civil} WHERE kind = 'voters' AND probability >= ${threshold})
SELECT
    'voter' AS subject_type, v.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN b.person IS NULL THEN 'not_applicable'
         WHEN b.civil_death IS NOT NULL THEN 'flagged' ELSE 'clear' END AS status,
    CASE WHEN b.civil_death IS NOT NULL THEN 1 ELSE 0 END AS value, 0 AS threshold,
    to_json({
        'name': coalesce(v.full_name, concat_ws(' ', v.given_name, v.family_name)),
        'polling_station': v.polling_station, 'person': b.person, 'date_of_death': b.civil_death,
        'match_probability': b.probability, 'explanation': CAST(b.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the voter roll has not been linked to the civil registry '
                                             || '(clearsight link registries)'
                       WHEN b.person IS NULL THEN 'the voter was not found in the civil registry' END
    }) AS evidence
FROM voters AS v CROSS JOIN run LEFT JOIN best AS b ON b.record_id = v.record_id
