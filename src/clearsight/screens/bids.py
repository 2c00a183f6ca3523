"""Bid tables an agency brings (CSV or Parquet), read through a mapping that names their columns.

```yaml
tender: Tender          # required: the tender (procedure) a bid is for
amount: Bid_value       # required: the bid's price, any currency (screens are scale-free)
bidder: Competitors     # the firm; lets clearsight see a firm bidding several times in one tender
lot: Lot                # the lot of the tender, when bids are per lot
date: Date              # kept as written (for the firm-level views), not parsed
winner: Winner          # 1 / 0
estimate: PTE           # the buyer's estimate, same currency as the amount
label: Collusive        # 1 / 0, per bid or constant per tender (evaluate and train need it)
encoding: latin-1       # of a CSV file; default UTF-8
```

Every row is loaded or rejected with its line, the file's column, the value and the reason (`BidReport`); nothing is
dropped silently. A row with several problems is one rejected row with several reasons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from clearsight.engine.base import sql_literal
from clearsight.registry.ingest import LINE, PROBLEM, RAW, file_batches
from clearsight.registry.mapping import MappingError, known_encoding, read_yaml_mapping, validation_problems

FIELDS = ("tender", "amount", "bidder", "lot", "date", "winner", "estimate", "label")
FLAGS = ("winner", "label")  # 1 / 0
NUMBERS = ("amount", "estimate")
TRUE = ("1", "1.0", "true", "yes", "y", "t")
FALSE = ("0", "0.0", "false", "no", "n", "f")
SHOWN_REJECTS = 20


class BidMapping(BaseModel):
    """Which column of the file holds which field of a bid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tender: str
    amount: str
    bidder: str | None = None
    lot: str | None = None
    date: str | None = None
    winner: str | None = None
    estimate: str | None = None
    label: str | None = None
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        return known_encoding(encoding)

    def columns(self) -> dict[str, str]:
        """Field → the file's column, for the fields this mapping gives."""
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name) is not None}


def load_bid_mapping(path: Path) -> BidMapping:
    """Read and validate a bid mapping; errors name the file and what is wrong."""
    data = read_yaml_mapping(path, "a bid mapping is a YAML mapping of fields to columns (tender: …, amount: …)")
    try:
        return BidMapping(**data)
    except ValidationError as error:
        raise validation_problems(path, error, f"not a field of a bid (fields: {', '.join(FIELDS)})") from error


@dataclass
class BidReport:
    """What was read from one file."""

    file: str
    rows: int = 0
    loaded: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    first_rejects: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items())),
            "first_rejects": self.first_rejects,
        }


BIDS_DDL = """
    CREATE TABLE IF NOT EXISTS bids (
        source VARCHAR, line BIGINT, tender VARCHAR, lot VARCHAR, bidder VARCHAR, amount DOUBLE, date VARCHAR,
        winner INTEGER, estimate DOUBLE, label INTEGER
    )"""


def read_bids(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: BidMapping,
    source: str = "",
    require_label: bool = False,
) -> BidReport:
    """Append the file's good rows to table `bids` of `connection` (created if missing); return what was read.

    Raises MappingError when the file lacks a mapped column. With several files, `source` keeps their tenders apart
    (tender ids are compared as `source` + tender). With `require_label`, a row without a label is rejected."""
    if require_label and mapping.label is None:
        raise MappingError(f"{path}: the mapping names no label column (label: …), which evaluating and training need")
    connection.execute(BIDS_DDL)
    columns = mapping.columns()
    needed = list(dict.fromkeys(columns.values()))
    position = {column: f"c{index}" for index, column in enumerate(needed)}
    report = BidReport(str(path))
    for batch in file_batches(path, needed, encoding=mapping.encoding):
        connection.register("_bid_batch", batch)
        try:
            _load_batch(connection, columns, position, report, source, require_label)
        finally:
            connection.unregister("_bid_batch")
    return report


def _flag(value: str) -> str:
    return (
        f"CASE WHEN lower({value}) IN ({', '.join(map(sql_literal, TRUE))}) THEN 1 "
        f"WHEN lower({value}) IN ({', '.join(map(sql_literal, FALSE))}) THEN 0 END"
    )


def _load_batch(
    connection: duckdb.DuckDBPyConnection,
    columns: dict[str, str],
    position: dict[str, str],
    report: BidReport,
    source: str,
    require_label: bool,
) -> None:
    def raw(name: str) -> str:
        return f"nullif(trim({position[columns[name]]}), '')" if name in columns else "NULL::VARCHAR"

    parsed = [f"{LINE} AS line"]
    for name in FIELDS:
        parsed.append(f"{raw(name)} AS raw_{name}")
        if name in NUMBERS:
            parsed.append(f"TRY_CAST(replace({raw(name)}, '_', '') AS DOUBLE) AS {name}")
        elif name in FLAGS:
            parsed.append(f"{_flag(raw(name))} AS {name}")
        else:
            parsed.append(f"{raw(name)} AS {name}")
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE _bid_parsed AS SELECT {', '.join(parsed)} "
        f"FROM _bid_batch WHERE {PROBLEM} IS NULL"
    )
    checks = [  # (condition, field, reason)
        ("tender IS NULL", "tender", "empty tender"),
        ("raw_amount IS NULL", "amount", "empty amount"),
        ("raw_amount IS NOT NULL AND amount IS NULL", "amount", "amount is not a number"),
        ("amount IS NOT NULL AND NOT (amount > 0 AND isfinite(amount))", "amount", "amount is not a positive number"),
        ("raw_estimate IS NOT NULL AND estimate IS NULL", "estimate", "estimate is not a number"),
        ("estimate IS NOT NULL AND NOT (estimate > 0 AND isfinite(estimate))", "estimate", "estimate is not positive"),
        ("raw_winner IS NOT NULL AND winner IS NULL", "winner", "winner is not 1 or 0"),
        ("raw_label IS NULL" if require_label else "false", "label", "empty label"),
        ("raw_label IS NOT NULL AND label IS NULL", "label", "label is not 1 or 0"),
    ]
    problems = " UNION ALL ".join(
        f"SELECT line, {sql_literal(columns[name])} AS column_name, raw_{name} AS value, "
        f"{sql_literal(reason)} AS reason "
        f"FROM _bid_parsed WHERE {condition}"
        for condition, name, reason in checks
        if name in columns
    )
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE _bid_problems AS
        {problems}
        UNION ALL
        SELECT {LINE}, NULL, {RAW}, {PROBLEM} FROM _bid_batch WHERE {PROBLEM} IS NOT NULL
    """)
    good = connection.execute(f"""
        INSERT INTO bids
        SELECT {sql_literal(source)}, line, tender, lot, bidder, amount, date, winner, estimate, label
        FROM _bid_parsed WHERE line NOT IN (SELECT line FROM _bid_problems)
    """).fetchone()
    report.loaded += int(good[0]) if good else 0
    batch_rows = connection.execute("SELECT count(*) FROM _bid_batch").fetchone()
    report.rows += int(batch_rows[0]) if batch_rows else 0
    rejected = connection.execute("SELECT count(DISTINCT line) FROM _bid_problems").fetchone()
    report.rejected += int(rejected[0]) if rejected else 0
    for reason, count in connection.execute("SELECT reason, count(*) FROM _bid_problems GROUP BY 1").fetchall():
        report.reasons[reason] += count
    room = SHOWN_REJECTS - len(report.first_rejects)
    if room > 0:
        for line, column, value, reason in connection.execute(
            "SELECT line, column_name, value, reason FROM _bid_problems "
            f"ORDER BY line, column_name NULLS FIRST, reason LIMIT {room}"
        ).fetchall():
            report.first_rejects.append({"line": line, "column": column, "value": value, "reason": reason})


def as_table(connection: duckdb.DuckDBPyConnection) -> pa.Table:
    """The loaded bids, in file order."""
    return connection.execute("SELECT * FROM bids ORDER BY source, line").to_arrow_table()
