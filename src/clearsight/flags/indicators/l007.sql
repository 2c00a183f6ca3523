-- L007 Voter registered twice: two entries of the voter roll that are the same person.
WITH run AS (SELECT count(*) AS runs FROM ${link_runs} WHERE linkage = 'voters~voters'),
voters AS (SELECT * FROM ${registry} WHERE kind = 'voters'),
per_record AS (
    SELECT s.record_id, list(s.other ORDER BY s.other) AS others,
           list(DISTINCT o.polling_station) AS other_stations,
           max(s.match_probability) AS probability, arg_max(s.explanation, s.match_probability) AS explanation
    FROM ${same_person} AS s LEFT JOIN voters AS o ON o.record_id = s.other
    WHERE s.linkage = 'voters~voters' AND s.match_probability >= ${threshold}
    GROUP BY s.record_id
)
SELECT
    'voter' AS subject_type, v.record_id AS subject_id, NULL AS ocid,
    CASE WHEN run.runs = 0 THEN 'insufficient_data' WHEN r.record_id IS NOT NULL THEN 'flagged' ELSE 'clear' END
        AS status,
    coalesce(array_length(r.others), 0) AS value, 0 AS threshold,
    to_json({
        'name': coalesce(v.full_name, concat_ws(' ', v.given_name, v.family_name)),
        'polling_station': v.polling_station, 'other_records': r.others, 'other_stations': r.other_stations,
        'match_probability': r.probability, 'explanation': CAST(r.explanation AS JSON),
        'reason': CASE WHEN run.runs = 0 THEN 'the voter roll has not been deduplicated '
                                             || '(clearsight link registries)' END
    }) AS evidence
FROM voters AS v CROSS JOIN run LEFT JOIN per_record AS r ON r.record_id = v.record_id
