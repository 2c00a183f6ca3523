-- C015 Submission period over the holidays: the share of tender/tenderPeriod that falls in the holiday window
-- (holiday_start to holiday_end, month-day, the window wrapping into the next year when needed).
WITH periods AS (
    SELECT p.ocid, p.tender_period_start AS start_date, p.tender_period_end AS end_date,
           epoch(p.tender_period_end) - epoch(p.tender_period_start) AS seconds
    FROM ${scope} AS p
),
windows AS (
    -- The holiday window of the start year, and of the year before (for periods starting in early January).
    SELECT ocid, start_date, end_date, seconds,
           CAST(year(start_date) + year_offset AS VARCHAR) || '-' || ${holiday_start} AS window_from,
           CAST(year(start_date) + year_offset + CASE WHEN ${holiday_end} < ${holiday_start} THEN 1 ELSE 0 END AS VARCHAR)
               || '-' || ${holiday_end} AS window_to
    FROM periods CROSS JOIN (SELECT unnest([-1, 0]) AS year_offset)
    WHERE seconds > 0
),
holiday_overlap AS (
    SELECT ocid, sum(greatest(0, epoch(least(end_date, CAST(window_to AS TIMESTAMPTZ) + INTERVAL 1 DAY))
                             - epoch(greatest(start_date, CAST(window_from AS TIMESTAMPTZ))))) / any_value(seconds)
               AS share
    FROM windows GROUP BY ocid
)
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    CASE
        WHEN o.share IS NULL THEN 'insufficient_data'
        WHEN o.share >= ${minimum_share} THEN 'flagged'
        ELSE 'clear'
    END AS status,
    o.share AS value, ${minimum_share} AS threshold,
    to_json({'start_date': p.tender_period_start, 'end_date': p.tender_period_end,
             'reason': CASE WHEN o.share IS NULL THEN 'no submission period with a start and a later end' END})
        AS evidence
FROM ${scope} AS p LEFT JOIN holiday_overlap AS o ON o.ocid = p.ocid
