"""Load a registry extract (CSV or Parquet) through its mapping into registry_records, streaming in batches.

Every row is either a version in `registry_records` (new, or a change of a record seen before), an unchanged
re-submission (counted), or one or more rows in `registry_rejects` naming the file, line, column, value and reason.
A changed record keeps its earlier versions; each new version's canonical JSON is handed to `on_versions` (the CLI
appends them to the ledger, so that a silent rewrite of a registry entry can be proved).
"""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from clearsight.engine import Backend
from clearsight.engine.base import sql_literal
from clearsight.model import REGISTRY_TABLES
from clearsight.registry.mapping import DATE_FIELDS, FIELDS, KINDS, NUMBER_FIELDS, Mapping, MappingError

BATCH_ROWS = 50_000
ARROW_BLOCK_BYTES = 1 << 24  # Arrow's CSV reader parses this much at a time
LINE = "_clearsight_line"


@dataclass
class RegistrySummary:
    run_id: str
    dataset: str
    kind: str
    file: str
    rows: int = 0
    new_versions: int = 0
    unchanged: int = 0
    rejected_rows: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "new_versions": self.new_versions,
            "unchanged": self.unchanged,
            "rejected_rows": self.rejected_rows,
            "reject_reasons": dict(sorted(self.reasons.items())),
        }


def csv_batches(path: Path, needed: list[str], batch_rows: int | None = None) -> Iterator[pa.Table]:
    """The `needed` columns of a CSV file (header row) as text, in batches, named c0, c1, … in that order, with the
    line each row starts on (quoted fields may span lines) in column LINE.

    Arrow's multi-threaded reader does the work; each row's line is counted from the line breaks inside its
    fields. From the first block Arrow cannot read row for row as Python's csv module would (a blank line, a row
    with another number of fields), the csv module reads the rest.
    """
    batch_rows = batch_rows or BATCH_ROWS
    given = 0
    try:
        for table in _arrow_csv_batches(path, needed, batch_rows):
            given += table.num_rows
            yield table
        return
    except pa.ArrowInvalid:
        pass
    yield from _python_csv_batches(path, needed, batch_rows, skip=given)


def _arrow_csv_batches(path: Path, needed: list[str], batch_rows: int) -> Iterator[pa.Table]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    missing = [column for column in needed if column not in header]
    if missing:
        raise MappingError(f"{path}: no column(s) {', '.join(missing)} (columns: {', '.join(header)})")
    if len(header) < 2 or len(set(header)) != len(header):
        raise pa.ArrowInvalid("one column, or repeated column names: read by the csv module")
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=ARROW_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    line = 2
    for batch in reader:
        # A blank line comes out as a row of empty fields, which the csv module skips: let it read from here.
        empty = pc.equal(batch.column(0), "")
        for column in batch.columns[1:]:
            empty = pc.and_(empty, pc.equal(column, ""))
        if batch.num_rows and pc.any(empty).as_py():
            raise pa.ArrowInvalid("a blank line (or a row of empty fields): read by the csv module")
        # Lines a row spans: one, plus the line breaks inside its fields (a quoted "\r\n" counts once).
        spans = pa.array([1] * batch.num_rows, pa.int64())
        for column in batch.columns:
            breaks = pc.count_substring(pc.replace_substring(column, "\r\n", "\n"), "\n")
            spans = pc.add(spans, pc.cast(breaks, pa.int64()))
        ends = pc.cumulative_sum(spans)
        starts = pc.add(pc.subtract(ends, spans), line)
        line += int(ends[-1].as_py()) if batch.num_rows else 0
        arrays = {f"c{index}": batch.column(column) for index, column in enumerate(needed)}
        table = pa.table({LINE: starts, **arrays})
        for offset in range(0, table.num_rows, batch_rows):
            yield table.slice(offset, batch_rows)


def _python_csv_batches(path: Path, needed: list[str], batch_rows: int, skip: int = 0) -> Iterator[pa.Table]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in needed if column not in header]
        if missing:
            raise MappingError(f"{path}: no column(s) {', '.join(missing)} (columns: {', '.join(header)})")
        columns: dict[str, list[str | None]] = {column: [] for column in needed}
        lines: list[int] = []
        start = reader.line_num + 1
        for record in reader:
            if skip:
                skip -= 1
                start = reader.line_num + 1
                continue
            lines.append(start)
            for column in needed:
                columns[column].append(record.get(column))
            start = reader.line_num + 1
            if len(lines) == batch_rows:
                yield _table(columns, lines)
                columns = {column: [] for column in needed}
                lines = []
        if lines:
            yield _table(columns, lines)


def _table(columns: dict[str, list[str | None]], lines: list[int]) -> pa.Table:
    arrays = {f"c{index}": pa.array(values, pa.string()) for index, values in enumerate(columns.values())}
    return pa.table({LINE: pa.array(lines, pa.int64()), **arrays})


def _parquet_batches(path: Path, needed: list[str]) -> Iterator[pa.Table]:
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    missing = [column for column in needed if column not in names]
    if missing:
        raise MappingError(f"{path}: no column(s) {', '.join(missing)} (columns: {', '.join(names)})")
    row = 1
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=needed):
        arrays = {f"c{index}": batch.column(column).cast(pa.string()) for index, column in enumerate(needed)}
        yield pa.table({LINE: pa.array(range(row, row + batch.num_rows), pa.int64()), **arrays})
        row += batch.num_rows


def ingest_registry(
    backend: Backend,
    path: Path,
    mapping: Mapping,
    dataset: str,
    on_versions: Callable[[list[str]], None] | None = None,
) -> RegistrySummary:
    """Load one extract. Raises MappingError when the file lacks a mapped column."""
    backend.ensure_tables(REGISTRY_TABLES)
    run_id = f"registry-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    summary = RegistrySummary(run_id, dataset, mapping.kind, str(path))
    needed = list(dict.fromkeys([*mapping.columns.values(), *mapping.keep]))
    position = {column: f"c{index}" for index, column in enumerate(needed)}
    batches = _parquet_batches(path, needed) if path.suffix.lower() == ".parquet" else csv_batches(path, needed)
    backend.execute("CREATE OR REPLACE TEMP TABLE _registry_seen (record_id VARCHAR, line BIGINT)")
    # Each record's latest stored version, read once: a run never writes a record twice (a repeated record_id is
    # rejected), so what it stores does not change what the next batch compares with.
    backend.execute(
        """
        CREATE OR REPLACE TEMP TABLE _registry_latest AS
        SELECT record_id, max(version) AS version, arg_max(record_hash, version) AS record_hash
        FROM registry_records WHERE dataset = ? AND kind = ? GROUP BY record_id
    """,
        [dataset, mapping.kind],
    )
    with backend.bulk_load():
        for batch in batches:
            with backend.registered("_registry_batch", batch):
                _load_batch(backend, mapping, position, summary)
            if on_versions is not None:
                versions = [
                    row[0]
                    for row in backend.query(
                        "SELECT canonical FROM registry_records WHERE run_id = ? AND source_line >= ? "
                        "ORDER BY source_line",
                        [run_id, batch.column(LINE)[0].as_py()],
                    )
                ]
                if versions:
                    on_versions(versions)
    backend.execute("DROP TABLE IF EXISTS _registry_seen")
    backend.execute("DROP TABLE IF EXISTS _registry_latest")
    return summary


def _load_batch(backend: Backend, mapping: Mapping, position: dict[str, str], summary: RegistrySummary) -> None:
    def raw(field_name: str) -> str:
        return f"nullif(trim({position[mapping.columns[field_name]]}), '')"

    fmt = sql_literal(mapping.date_format)
    parsed = [f"{LINE} AS line"]
    for name in FIELDS:
        if name not in mapping.columns:
            continue
        if name in DATE_FIELDS:
            parsed.append(f"{raw(name)} AS raw_{name}, CAST(try_strptime({raw(name)}, {fmt}) AS DATE) AS {name}")
        elif name in NUMBER_FIELDS:
            parsed.append(f"{raw(name)} AS raw_{name}, TRY_CAST({raw(name)} AS DOUBLE) AS {name}")
        else:
            parsed.append(f"{raw(name)} AS {name}")
    kept = ", ".join(f"{sql_literal(column)}: {position[column]}" for column in sorted(mapping.keep))
    parsed.append(f"to_json({{{kept}}}) AS attributes" if kept else "NULL::JSON AS attributes")
    backend.execute(f"CREATE OR REPLACE TEMP TABLE _registry_parsed AS SELECT {', '.join(parsed)} FROM _registry_batch")

    checks = []  # (condition, file column, value, reason)
    for required in KINDS[mapping.kind]:
        if required == "name":
            names = [name for name in ("family_name", "full_name") if name in mapping.columns]
            condition = " AND ".join(f"{name} IS NULL" for name in names)
            checks.append((condition, mapping.columns[names[0]], "NULL", "no name (family_name or full_name)"))
        elif required in DATE_FIELDS or required in NUMBER_FIELDS:
            checks.append((f"raw_{required} IS NULL", mapping.columns[required], "NULL", f"empty {required}"))
        else:
            checks.append((f"{required} IS NULL", mapping.columns[required], "NULL", f"empty {required}"))
    for name in DATE_FIELDS:
        if name in mapping.columns:
            checks.append(
                (
                    f"raw_{name} IS NOT NULL AND {name} IS NULL",
                    mapping.columns[name],
                    f"raw_{name}",
                    f"{name} does not match the date format {mapping.date_format}",
                )
            )
    for name in NUMBER_FIELDS:
        if name in mapping.columns:
            checks.append(
                (
                    f"raw_{name} IS NOT NULL AND {name} IS NULL",
                    mapping.columns[name],
                    f"raw_{name}",
                    f"{name} is not a number",
                )
            )
    problems = " UNION ALL ".join(
        f"SELECT line, {sql_literal(column)} AS column_name, {value} AS value, {sql_literal(reason)} AS reason "
        f"FROM _registry_parsed WHERE {condition}"
        for condition, column, value, reason in checks
    )
    record_column = sql_literal(mapping.columns["record_id"])
    backend.execute(f"""
        CREATE OR REPLACE TEMP TABLE _registry_problems AS
        {problems}
        UNION ALL
        SELECT p.line, {record_column}, p.record_id,
               'duplicate record_id (first at line ' || coalesce(s.line, f.first_line) || ')'
        FROM _registry_parsed AS p
        LEFT JOIN _registry_seen AS s ON s.record_id = p.record_id
        LEFT JOIN (SELECT record_id, min(line) AS first_line FROM _registry_parsed GROUP BY record_id) AS f
            ON f.record_id = p.record_id
        WHERE p.record_id IS NOT NULL AND (s.record_id IS NOT NULL OR p.line > f.first_line)
    """)
    backend.execute("""
        INSERT INTO _registry_seen
        SELECT record_id, min(line) FROM _registry_parsed WHERE record_id IS NOT NULL
          AND record_id NOT IN (SELECT record_id FROM _registry_seen) GROUP BY record_id
    """)
    d, kind, run, file = (
        sql_literal(summary.dataset),
        sql_literal(mapping.kind),
        sql_literal(summary.run_id),
        sql_literal(summary.file),
    )
    backend.execute(f"""
        INSERT INTO registry_rejects
        SELECT {run}, {d}, {kind}, {file}, line, column_name, value, reason FROM _registry_problems
    """)
    mapped = [name for name in FIELDS if name in mapping.columns and name != "record_id"]
    # Keys sorted and compact, as the ledger's canonical JSON: the stored text is the ledger entry, byte for byte.
    members = {"kind": kind, "record_id": "record_id", **{name: name for name in mapped}}
    if mapping.keep:
        members["attributes"] = "attributes"
    struct = ", ".join(f"'{key}': {members[key]}" for key in sorted(members))
    backend.execute(f"""
        CREATE OR REPLACE TEMP TABLE _registry_good AS
        SELECT *, sha256(canonical) AS record_hash FROM (
            SELECT *, CAST(to_json({{{struct}}}) AS VARCHAR) AS canonical FROM _registry_parsed
            WHERE line NOT IN (SELECT line FROM _registry_problems)
        )
    """)
    columns = ", ".join(mapped)
    backend.execute(f"""
        INSERT INTO registry_records (dataset, kind, record_id, version, record_hash, canonical, {columns},
                                      attributes, source_file, source_line, run_id)
        SELECT {d}, {kind}, g.record_id, coalesce(l.version, 0) + 1, g.record_hash, g.canonical,
               {", ".join(f"g.{name}" for name in mapped)}, g.attributes, {file}, g.line, {run}
        FROM _registry_good AS g LEFT JOIN _registry_latest AS l ON l.record_id = g.record_id
        WHERE l.record_hash IS DISTINCT FROM g.record_hash
    """)
    rows = int(backend.query_value("SELECT count(*) FROM _registry_parsed"))
    good = int(backend.query_value("SELECT count(*) FROM _registry_good"))
    new = int(backend.query_value("SELECT count(*) FROM registry_records WHERE run_id = ?", [summary.run_id]))
    summary.rows += rows
    summary.unchanged += good - (new - summary.new_versions)
    summary.new_versions = new
    summary.rejected_rows += rows - good
    for reason, count in backend.query(
        "SELECT regexp_replace(reason, ' \\(first at line \\d+\\)', ''), count(*) FROM _registry_problems GROUP BY 1"
    ):
        summary.reasons[reason] += int(count)
    for table in ("_registry_parsed", "_registry_problems", "_registry_good"):
        backend.execute(f"DROP TABLE {table}")
