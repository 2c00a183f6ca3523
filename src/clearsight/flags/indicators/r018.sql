-- R018 Single bid received: tender/numberOfTenderers is 1 in an open or selective procedure.
SELECT
    'process' AS subject_type,
    p.ocid AS subject_id,
    p.ocid,
    CASE
        WHEN NOT coalesce(list_contains(${procurement_methods}, p.procurement_method), FALSE) THEN 'not_applicable'
        WHEN p.number_of_tenderers IS NULL THEN 'insufficient_data'
        WHEN p.number_of_tenderers = 1 THEN 'flagged'
        ELSE 'clear'
    END AS status,
    p.number_of_tenderers AS value,
    1 AS threshold,
    to_json({
        'number_of_tenderers': p.number_of_tenderers,
        'procurement_method': p.procurement_method,
        'reason': CASE
            WHEN NOT coalesce(list_contains(${procurement_methods}, p.procurement_method), FALSE)
                THEN 'not a competitive procedure under this profile'
            WHEN p.number_of_tenderers IS NULL THEN 'number of tenderers not published'
        END
    }) AS evidence
FROM ${scope} AS p
