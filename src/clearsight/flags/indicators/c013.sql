-- C013 Suppliers sharing contact details: a supplier or tenderer (parties with those roles) whose street
-- address, locality and telephone (compared in lower case, telephone by its digits) are those of another one.
WITH organisations AS (
    SELECT party_id,
           any_value(lower(trim(street_address))) AS street_address,
           any_value(lower(trim(locality))) AS locality,
           any_value(regexp_replace(contact_telephone, '[^0-9]', '', 'g')) AS telephone
    FROM parties
    WHERE dataset = ${dataset} AND party_id IS NOT NULL
      AND (list_contains(roles, 'supplier') OR list_contains(roles, 'tenderer'))
    GROUP BY party_id
),
shared AS (
    SELECT street_address, locality, telephone, list_sort(list(party_id)) AS members
    FROM organisations
    WHERE street_address IS NOT NULL AND telephone IS NOT NULL AND telephone <> ''
    GROUP BY street_address, locality, telephone
    HAVING count(*) >= 2
)
SELECT
    'tenderer' AS subject_type, o.party_id AS subject_id, NULL AS ocid,
    CASE
        WHEN s.members IS NOT NULL THEN 'flagged'
        WHEN o.street_address IS NULL OR o.telephone IS NULL OR o.telephone = '' THEN 'insufficient_data'
        ELSE 'clear'
    END AS status,
    array_length(s.members) AS value, 2 AS threshold,
    to_json({
        'street_address': o.street_address, 'locality': o.locality, 'telephone': o.telephone,
        'others': array_to_string(list_filter(s.members, lambda x: x <> o.party_id), ', '),
        'reason': CASE WHEN s.members IS NULL AND (o.street_address IS NULL OR o.telephone IS NULL
                       OR o.telephone = '') THEN 'address or telephone not published' END
    }) AS evidence
FROM organisations AS o
LEFT JOIN shared AS s ON s.street_address = o.street_address AND s.locality IS NOT DISTINCT FROM o.locality
    AND s.telephone = o.telephone
