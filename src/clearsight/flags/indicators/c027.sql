-- C027 New supplier wins a large contract: the award that is a supplier's first in the dataset (by award date)
-- is at or above the `percentile` of all active award values in the main currency.
WITH awarded AS (
    SELECT a.ocid, s.supplier_id, a.date, a.value_amount AS value
    FROM awards AS a
    JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid AND s.award_position = a.award_position
    WHERE a.dataset = ${dataset} AND a.status = 'active' AND a.date IS NOT NULL AND s.supplier_id IS NOT NULL
      AND a.value_currency = ${main_currency} AND a.value_amount > 0
),
firsts AS (
    SELECT supplier_id, arg_min(ocid, date) AS ocid, arg_min(value, date) AS value FROM awarded GROUP BY supplier_id
),
cut AS (
    SELECT count(*) AS sample, quantile_cont(value, ${percentile}) AS large FROM awarded
),
per_process AS (
    SELECT f.ocid, max(f.value) AS value, arg_max(f.supplier_id, f.value) AS supplier_id
    FROM firsts AS f GROUP BY f.ocid
),
valued AS (SELECT DISTINCT ocid FROM awarded)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN v.ocid IS NULL THEN 'insufficient_data'
        WHEN cut.sample < ${minimum_sample} THEN 'insufficient_data'
        WHEN x.value >= cut.large THEN 'flagged'
        ELSE 'clear'
    END AS status,
    x.value AS value, cut.large AS threshold,
    to_json({'supplier_id': x.supplier_id, 'awards_in_sample': cut.sample,
             'reason': CASE WHEN v.ocid IS NULL THEN 'no dated, valued active award in the main currency'
                            WHEN cut.sample < ${minimum_sample} THEN 'too few awards to know what is large' END})
        AS evidence
FROM ${scope} AS p CROSS JOIN cut
LEFT JOIN valued AS v ON v.ocid = p.ocid
LEFT JOIN per_process AS x ON x.ocid = p.ocid
