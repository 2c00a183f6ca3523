-- N003 Bidders from one suspicious supplier group: at least two tenderers of the process's submitted bids belong to
-- the same supplier-network group (network_groups, from `clearsight network build`) whose score reaches threshold.
-- The value is the highest score of such a group; without a built network every process is insufficient_data.
WITH built AS (SELECT count(*) AS groups FROM network_groups WHERE dataset = ${dataset}),
bidders AS (SELECT * FROM ${submitted_tenderers}),
named AS (SELECT ocid FROM bidders GROUP BY ocid HAVING count(*) >= 2),
memberships AS (
    SELECT g.group_id, g.score, unnest(g.members) AS firm FROM network_groups AS g WHERE g.dataset = ${dataset}
),
inside AS (  -- groups with at least two bidders in the process
    SELECT b.ocid, m.group_id, any_value(m.score) AS score, list_sort(list(b.tenderer_id)) AS firms
    FROM bidders AS b JOIN memberships AS m ON m.firm = b.tenderer_id
    GROUP BY b.ocid, m.group_id HAVING count(*) >= 2
),
best AS (
    SELECT ocid, max(score) AS score, arg_max(group_id, score) AS group_id, arg_max(firms, score) AS firms
    FROM inside GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN (SELECT groups FROM built) = 0 THEN 'insufficient_data'
         WHEN n.ocid IS NULL THEN 'not_applicable'
         WHEN x.score >= ${threshold} THEN 'flagged'
         ELSE 'clear' END AS status,
    coalesce(x.score, 0) AS value, ${threshold} AS threshold,
    to_json({'group_id': x.group_id, 'firms': array_to_string(x.firms, ', '),
             'reason': CASE WHEN (SELECT groups FROM built) = 0
                            THEN 'the supplier network is not built (run clearsight network build)'
                            WHEN n.ocid IS NULL THEN 'fewer than two named tenderers of submitted bids' END})
        AS evidence
FROM ${scope} AS p LEFT JOIN named AS n ON n.ocid = p.ocid LEFT JOIN best AS x ON x.ocid = p.ocid
