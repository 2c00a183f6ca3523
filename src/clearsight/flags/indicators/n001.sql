-- N001 Cover bidding: the same losers keep losing to the same winner. For every pair of a process's winner (supplier of
-- an active award) and a loser (a tenderer of a submitted bid who won nothing in that process), count across the
-- dataset the processes in which that loser lost to that winner and those in which it beat it. A process is flagged
-- when one of its losers has lost to its winner at least minimum_losses times and never beaten it.
WITH bidders AS (SELECT * FROM ${submitted_tenderers}),
winners AS (SELECT * FROM ${active_winners}),
beats AS (  -- winner beat loser in process ocid
    SELECT w.ocid, w.supplier_id AS winner, b.tenderer_id AS loser
    FROM winners AS w JOIN bidders AS b ON b.ocid = w.ocid AND b.tenderer_id <> w.supplier_id
    WHERE NOT EXISTS (SELECT 1 FROM winners AS x WHERE x.ocid = b.ocid AND x.supplier_id = b.tenderer_id)
),
history AS (
    SELECT winner, loser, count(DISTINCT ocid) AS losses FROM beats GROUP BY winner, loser
),
pairs AS (
    SELECT b.ocid, b.winner, b.loser, h.losses, coalesce(r.losses, 0) AS wins_against
    FROM beats AS b
    JOIN history AS h ON h.winner = b.winner AND h.loser = b.loser
    LEFT JOIN history AS r ON r.winner = b.loser AND r.loser = b.winner
),
top_pair AS (  -- the one-sided pair with the most losses (ties: the first winner and loser by id)
    SELECT ocid, winner, loser FROM (
        SELECT ocid, winner, loser,
               row_number() OVER (PARTITION BY ocid ORDER BY losses DESC, winner, loser) AS rank
        FROM pairs WHERE wins_against = 0)
    WHERE rank = 1
),
per_process AS (
    SELECT g.ocid, g.value, t.winner, t.loser, g.pairs
    FROM (SELECT ocid, max(losses) FILTER (WHERE wins_against = 0) AS value, count(*) AS pairs
          FROM pairs GROUP BY ocid) AS g
    LEFT JOIN top_pair AS t ON t.ocid = g.ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE WHEN x.ocid IS NULL THEN 'not_applicable'
         WHEN x.value >= ${minimum_losses} THEN 'flagged' ELSE 'clear' END AS status,
    coalesce(x.value, 0) AS value, ${minimum_losses} AS threshold,
    to_json({'winner': x.winner, 'loser': x.loser,
             'reason': CASE WHEN x.ocid IS NULL
                            THEN 'no active award with a published losing bid (tenderers named)' END}) AS evidence
FROM ${scope} AS p LEFT JOIN per_process AS x ON x.ocid = p.ocid
