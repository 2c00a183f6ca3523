"""Bid-rigging screens in SQL: distribution statistics of the bids of each tender (or lot).

Definitions follow Imhof (2019), Huber & Imhof (2019) and Wallimann, Imhof & Huber (2022), with bids b(1) ≤ b(2)
≤ … ≤ b(n) of one tender:

- CV, coefficient of variation: s / mean (s the sample standard deviation);
- kurtosis and skewness: the bias-corrected sample statistics (excess kurtosis);
- spread: (b(n) − b(1)) / b(1);
- DIFFP, percentage difference between the two lowest bids: (b(2) − b(1)) / b(1);
- RD, relative distance: (b(2) − b(1)) / s_losing, s_losing the standard deviation of the losing bids b(2)…b(n);
- ALTRD, alternative relative distance: (b(2) − b(1)) divided by the mean gap between adjacent losing bids,
  (b(n) − b(2)) / (n − 2);
- KS: the Kolmogorov–Smirnov statistic of the bids against the uniform distribution on [b(1), b(n)],
  max over i of max(i/n − u(i), u(i) − (i − 1)/n) with u(i) = (b(i) − b(1)) / (b(n) − b(1)).

The SQL is written over any relation with columns (ocid, lot_id, amount), so the same code computes the screens of
the warehouse's bids and of the labelled cartel data the classifier learns from.
"""

from __future__ import annotations

SCREEN_COLUMNS = ("bids", "cv", "kurtosis", "skewness", "spread", "diffp", "rd", "altrd", "ks")


def screens_sql(relation: str) -> str:
    """One row per (ocid, lot_id) of `relation` with the screens; statistics undefined for the sample are NULL."""
    return f"""
        WITH ranked AS (
            SELECT ocid, lot_id, amount,
                   row_number() OVER (PARTITION BY ocid, lot_id ORDER BY amount) AS position,
                   count(*) OVER (PARTITION BY ocid, lot_id) AS n,
                   min(amount) OVER (PARTITION BY ocid, lot_id) AS lowest,
                   max(amount) OVER (PARTITION BY ocid, lot_id) AS highest
            FROM {relation}
            WHERE amount IS NOT NULL AND amount > 0
        ),
        uniform AS (
            SELECT *, CASE WHEN highest > lowest THEN (amount - lowest) / (highest - lowest) END AS u FROM ranked
        )
        SELECT
            ocid, lot_id,
            count(*) AS bids,
            stddev_samp(amount) / avg(amount) AS cv,
            kurtosis(amount) AS kurtosis,
            skewness(amount) AS skewness,
            (max(amount) - min(amount)) / min(amount) AS spread,
            (min(amount) FILTER (WHERE position = 2) - min(amount)) / min(amount) AS diffp,
            (min(amount) FILTER (WHERE position = 2) - min(amount))
                / nullif(stddev_samp(amount) FILTER (WHERE position >= 2), 0) AS rd,
            CASE WHEN count(*) >= 3 THEN
                (min(amount) FILTER (WHERE position = 2) - min(amount))
                / nullif((max(amount) - min(amount) FILTER (WHERE position = 2)) / (count(*) - 2), 0) END AS altrd,
            CASE WHEN count(*) >= 2 AND max(amount) > min(amount) THEN
                max(greatest(position / n - u, u - (position - 1) / n)) END AS ks
        FROM uniform
        GROUP BY ocid, lot_id
    """
