-- R032 Bidders share a beneficial owner: two or more tenderers of a process (tender/tenderers or bids) that are the
-- same company as a BODS entity of the dataset (same identifier) have a person in common among their owners, followed
-- up to `max_depth` ownership hops, every hop in force at the process date.
WITH tenderer_ids AS (
    SELECT ocid, tenderer_id AS tenderer FROM tenderers WHERE dataset = ${dataset} AND tenderer_id IS NOT NULL
    UNION
    SELECT ocid, tenderer_id FROM bid_tenderers WHERE dataset = ${dataset} AND tenderer_id IS NOT NULL
),
keyed AS (
    -- The key as the ownership entities' (Companies House numbers with their leading zeros).
    SELECT t.ocid, t.tenderer, p.name, ${party_key} AS identifier_key
    FROM tenderer_ids AS t
    LEFT JOIN parties AS p ON p.dataset = ${dataset} AND p.ocid = t.ocid AND p.party_id = t.tenderer
        AND p.identifier_scheme IS NOT NULL AND p.identifier_id IS NOT NULL
),
entity_keys AS (SELECT * FROM ${entity_keys}),
dated AS (
    SELECT ocid, CAST(coalesce(tender_period_start, release_date) AS DATE) AS moment
    FROM processes WHERE dataset = ${dataset}
),
owned AS (
    SELECT DISTINCT k.ocid, k.tenderer AS party, d.moment, e.record_id
    FROM keyed AS k JOIN entity_keys AS e ON e.identifier_key = k.identifier_key
    JOIN dated AS d ON d.ocid = k.ocid
),
edges AS (SELECT * FROM ${ownership_edges}),
${hop_ctes},
chains AS (
    ${hops}
),
owners AS (
    SELECT DISTINCT c.ocid, c.party AS tenderer, c.owner, p.name AS owner_name
    FROM chains AS c
    JOIN ownership_persons AS p ON p.dataset = ${dataset} AND p.record_id = c.owner
    WHERE coalesce(p.person_type, 'knownPerson') NOT IN ('anonymousPerson', 'unknownPerson')
),
shared AS (
    SELECT ocid, owner FROM owners GROUP BY ocid, owner HAVING count(DISTINCT tenderer) >= 2
),
sharing AS (
    SELECT o.ocid, count(DISTINCT o.tenderer) AS tenderers_sharing,
           list_sort(list(DISTINCT coalesce(k.name, o.tenderer))) AS names,
           list_sort(list(DISTINCT coalesce(o.owner_name, o.owner))) AS owner_names
    FROM owners AS o
    JOIN shared AS s ON s.ocid = o.ocid AND s.owner = o.owner
    JOIN keyed AS k ON k.ocid = o.ocid AND k.tenderer = o.tenderer
    GROUP BY o.ocid
),
per_process AS (
    SELECT p.ocid, coalesce(t.tenderer_count, 0) AS tenderer_count, coalesce(w.with_ownership, 0) AS with_ownership
    FROM ${scope} AS p
    LEFT JOIN (SELECT ocid, count(DISTINCT tenderer) AS tenderer_count FROM tenderer_ids GROUP BY ocid) AS t
        ON t.ocid = p.ocid
    LEFT JOIN (SELECT ocid, count(DISTINCT party) AS with_ownership FROM owned GROUP BY ocid) AS w
        ON w.ocid = p.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN p.tenderer_count < 2 THEN 'insufficient_data'
        WHEN s.ocid IS NOT NULL THEN 'flagged'
        WHEN p.with_ownership < 2 THEN 'insufficient_data'
        ELSE 'clear'
    END AS status,
    coalesce(s.tenderers_sharing, 0) AS value,
    2 AS threshold,
    to_json({
        'tenderers': p.tenderer_count, 'tenderers_with_ownership_data': p.with_ownership,
        'tenderers_sharing': s.tenderers_sharing, 'names': array_to_string(s.names, ', '),
        'owners': array_to_string(s.owner_names, ', '),
        'reason': CASE
            WHEN p.tenderer_count < 2 THEN 'fewer than two tenderers'
            WHEN s.ocid IS NULL AND p.with_ownership < 2 THEN 'fewer than two of its tenderers have beneficial-ownership '
                || 'data (a BODS entity with the same identifier: clearsight ingest bods)'
        END
    }) AS evidence
FROM per_process AS p
LEFT JOIN sharing AS s ON s.ocid = p.ocid
