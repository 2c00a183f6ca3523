-- C037 Winning supplier owned by a politically exposed person: a supplier of an active award, matched to a BODS
-- entity of the dataset by identifier, has among its owners (followed up to `max_depth` hops, every interest in force
-- at the award date) a person whose statement declares political exposure.
WITH winners AS (
    SELECT DISTINCT a.ocid, s.supplier_id AS party,
           CAST(coalesce(a.date, p.tender_period_start, p.release_date) AS DATE) AS moment
    FROM ${scope} AS p
    JOIN awards AS a ON a.dataset = ${dataset} AND a.ocid = p.ocid AND a.status = 'active'
    JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid AND s.award_position = a.award_position
    WHERE s.supplier_id IS NOT NULL
),
keyed AS (
    -- The key as the ownership entities' (Companies House numbers with their leading zeros).
    SELECT w.ocid, w.party, w.moment, coalesce(pa.name, w.party) AS name, ${party_key} AS identifier_key
    FROM winners AS w
    LEFT JOIN parties AS pa ON pa.dataset = ${dataset} AND pa.ocid = w.ocid AND pa.party_id = w.party
        AND pa.identifier_scheme IS NOT NULL AND pa.identifier_id IS NOT NULL
),
entity_keys AS (SELECT * FROM ${entity_keys}),
owned AS (
    SELECT DISTINCT k.ocid, k.party, k.moment, e.record_id
    FROM keyed AS k JOIN entity_keys AS e ON e.identifier_key = k.identifier_key
),
edges AS (SELECT * FROM ${ownership_edges}),
${hop_ctes},
exposed AS (
    SELECT c.ocid, list_sort(list(DISTINCT coalesce(k.name, c.party))) AS suppliers,
           list_sort(list(DISTINCT coalesce(pe.name, c.owner))) AS owners,
           list_sort(list(DISTINCT coalesce(json_extract_string(pe.pep_details, '$$[0].reason'), 'no position given')))
               AS positions,
           min(c.depth) AS depth
    FROM (${hops}) AS c
    JOIN ownership_persons AS pe ON pe.dataset = ${dataset} AND pe.record_id = c.owner AND pe.pep
    JOIN keyed AS k ON k.ocid = c.ocid AND k.party = c.party
    GROUP BY c.ocid
),
per_process AS (
    SELECT p.ocid, coalesce(w.suppliers, 0) AS suppliers, coalesce(o.with_ownership, 0) AS with_ownership
    FROM ${scope} AS p
    LEFT JOIN (SELECT ocid, count(DISTINCT party) AS suppliers FROM winners GROUP BY ocid) AS w ON w.ocid = p.ocid
    LEFT JOIN (SELECT ocid, count(DISTINCT party) AS with_ownership FROM owned GROUP BY ocid) AS o
        ON o.ocid = p.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN x.ocid IS NOT NULL THEN 'flagged'
        WHEN p.suppliers = 0 OR p.with_ownership = 0 THEN 'insufficient_data'
        ELSE 'clear'
    END AS status,
    x.depth AS value,
    NULL AS threshold,
    to_json({
        'suppliers': array_to_string(x.suppliers, ', '), 'owners': array_to_string(x.owners, ', '),
        'positions': array_to_string(x.positions, ', '), 'suppliers_with_ownership_data': p.with_ownership,
        'reason': CASE
            WHEN x.ocid IS NULL AND p.suppliers = 0 THEN 'no active award with a supplier'
            WHEN x.ocid IS NULL AND p.with_ownership = 0 THEN 'no supplier has beneficial-ownership data (a BODS '
                || 'entity with the same identifier: clearsight ingest bods)'
        END
    }) AS evidence
FROM per_process AS p
LEFT JOIN exposed AS x ON x.ocid = p.ocid
