-- N002 Bid rotation: the same group of firms keeps bidding together and the wins go round. A process's group is the
-- set of tenderers of its submitted bids (at least two firms). Across the dataset, clearsight counts the processes
-- with exactly that group and which members won them. A process is flagged when its group bid together in at least
-- minimum_joint processes and at least minimum_winners different members won them.
WITH bidders AS (SELECT * FROM ${submitted_tenderers}),
winners AS (SELECT * FROM ${active_winners}),
groups AS (
    SELECT ocid, list_sort(list(tenderer_id)) AS members FROM bidders GROUP BY ocid HAVING count(*) >= 2
),
group_wins AS (  -- which members won each process of a group
    SELECT g.members, g.ocid, w.supplier_id AS winner
    FROM groups AS g JOIN winners AS w ON w.ocid = g.ocid AND list_contains(g.members, w.supplier_id)
),
per_group AS (
    SELECT g.members, g.joint, coalesce(d.distinct_winners, 0) AS distinct_winners
    FROM (SELECT members, count(DISTINCT ocid) AS joint FROM groups GROUP BY members) AS g
    LEFT JOIN (SELECT members, count(DISTINCT winner) AS distinct_winners FROM group_wins GROUP BY members) AS d
        ON d.members = g.members
),
win_counts AS (
    SELECT members, list(winner || ' ' || wins ORDER BY wins DESC, winner) AS wins
    FROM (SELECT members, winner, count(*) AS wins FROM group_wins GROUP BY members, winner)
    GROUP BY members
),
per_process AS (
    SELECT g.ocid, g.members, s.joint, s.distinct_winners, w.wins
    FROM groups AS g JOIN per_group AS s ON s.members = g.members LEFT JOIN win_counts AS w ON w.members = g.members
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN x.ocid IS NULL THEN 'not_applicable'
         WHEN x.joint < ${minimum_joint} THEN 'insufficient_data'
         WHEN x.distinct_winners >= ${minimum_winners} THEN 'flagged'
         ELSE 'clear' END AS status,
    x.joint AS value, ${minimum_joint} AS threshold,
    to_json({'members': array_to_string(x.members, ', '), 'distinct_winners': x.distinct_winners,
             'wins': array_to_string(x.wins, ', '),
             'reason': CASE WHEN x.ocid IS NULL THEN 'fewer than two named tenderers of submitted bids'
                            WHEN x.joint < ${minimum_joint}
                            THEN 'this group of bidders met in fewer than ' || ${minimum_joint} || ' processes'
                       END}) AS evidence
FROM ${scope} AS p LEFT JOIN per_process AS x ON x.ocid = p.ocid
