-- C001 Non-open procedure: tender/procurementMethod is one of the profile's non-open methods.
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN p.procurement_method IS NULL THEN 'insufficient_data'
        WHEN list_contains(${non_open_methods}, p.procurement_method) THEN 'flagged'
        ELSE 'clear'
    END AS status,
    CASE WHEN list_contains(${non_open_methods}, p.procurement_method) THEN 1 ELSE 0 END AS value,
    1 AS threshold,
    to_json({
        'procurement_method': p.procurement_method, 'procurement_method_details': p.procurement_method_details,
        'rationale': p.procurement_method_rationale,
        'reason': CASE WHEN p.procurement_method IS NULL THEN 'procurement method not published' END
    }) AS evidence
FROM ${scope} AS p
