-- C002 No call for tender published: a competitive procedure with no tender or contract notice among its tender
-- documents and no published submission period.
WITH notices AS (
    SELECT DISTINCT ocid FROM documents
    WHERE dataset = ${dataset} AND scope = 'tender' AND document_type IN ('tenderNotice', 'contractNotice')
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN NOT coalesce(list_contains(${procurement_methods}, p.procurement_method), FALSE) THEN 'not_applicable'
        WHEN n.ocid IS NULL AND p.tender_period_start IS NULL THEN 'flagged'
        ELSE 'clear'
    END AS status,
    CASE WHEN n.ocid IS NULL AND p.tender_period_start IS NULL THEN 1 ELSE 0 END AS value,
    1 AS threshold,
    to_json({
        'procurement_method': p.procurement_method, 'notice_published': n.ocid IS NOT NULL,
        'tender_period_start': p.tender_period_start,
        'reason': CASE WHEN NOT coalesce(list_contains(${procurement_methods}, p.procurement_method), FALSE)
                       THEN 'not a procedure that must publish a call under this profile' END
    }) AS evidence
FROM ${scope} AS p
LEFT JOIN notices AS n ON n.ocid = p.ocid
