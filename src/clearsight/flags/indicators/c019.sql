-- C019 No tender documents published: a procedure of the profile's methods with no document under tender.
WITH documented AS (
    SELECT ocid, count(*) AS documents FROM documents WHERE dataset = ${dataset} AND scope = 'tender' GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN NOT coalesce(list_contains(${procurement_methods}, p.procurement_method), FALSE) THEN 'not_applicable'
        WHEN d.ocid IS NULL THEN 'flagged'
        ELSE 'clear'
    END AS status,
    coalesce(d.documents, 0) AS value, 1 AS threshold,
    to_json({'procurement_method': p.procurement_method,
             'reason': CASE WHEN NOT coalesce(list_contains(${procurement_methods}, p.procurement_method), FALSE)
                            THEN 'not a procedure checked by this profile' END}) AS evidence
FROM ${scope} AS p LEFT JOIN documented AS d ON d.ocid = p.ocid
