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

from clearsight.engine import Backend, pending
from clearsight.engine.base import sql_literal
from clearsight.model import REGISTRY_TABLES
from clearsight.registry.mapping import DATE_FIELDS, FIELDS, KINDS, NUMBER_FIELDS, Mapping, MappingError

BATCH_ROWS = 50_000
ARROW_BLOCK_BYTES = 1 << 24  # Arrow's CSV reader parses this much at a time
LINE = "_clearsight_line"
PROBLEM = "_clearsight_problem"  # why the reader could not read the row (NULL: it could)
RAW = "_clearsight_raw"  # the row's text when it could not be read


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


def csv_batches(
    path: Path, needed: list[str], batch_rows: int | None = None, encoding: str = "utf-8"
) -> Iterator[pa.Table]:
    """The `needed` columns of a CSV file (header row) as text, in batches, named c0, c1, … in that order, with the
    line each row starts on (quoted fields may span lines) in column LINE, and in PROBLEM why a row cannot be read
    (with its text in RAW), else NULL.

    Arrow's multi-threaded reader does the work on well-formed UTF-8 files. From the first block it cannot read
    row for row as a strict reading would (a blank line, a row with another number of fields, a field spanning
    lines — as an unclosed quote makes one —, bytes that are not UTF-8), the csv module reads the rest, strictly:
    every row it cannot read is a PROBLEM, never a row shifted or swallowed.
    """
    batch_rows = batch_rows or BATCH_ROWS
    encoding = _file_encoding(path, encoding)
    given = 0
    if encoding == "utf-8":
        try:
            for table in _arrow_csv_batches(path, needed, batch_rows):
                given += table.num_rows
                yield table
            return
        except pa.ArrowInvalid:
            pass
    yield from _python_csv_batches(path, needed, batch_rows, skip=given, encoding=encoding)


def _file_encoding(path: Path, encoding: str) -> str:
    """UTF-16 by its byte-order mark, whatever the mapping says; UTF-8's mark is skipped as part of UTF-8."""
    with open(path, "rb") as handle:
        start = handle.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return encoding


def _arrow_csv_batches(path: Path, needed: list[str], batch_rows: int) -> Iterator[pa.Table]:
    with open(path, encoding="utf-8-sig", newline="", errors="replace") as handle:
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
        # Lines a row spans: one, plus the line breaks inside its fields ("\r\n", "\n" or a lone "\r", as the csv
        # module counts them).
        spans = pa.array([1] * batch.num_rows, pa.int64())
        for column in batch.columns:
            breaks = pc.count_substring_regex(column, "\r\n|\r|\n")
            spans = pc.add(spans, pc.cast(breaks, pa.int64()))
        if batch.num_rows and pc.max(spans).as_py() > 1:
            # Rare in registries, and what an unclosed quote looks like: the strict reader judges it.
            raise pa.ArrowInvalid("a field spans lines: read by the csv module")
        ends = pc.cumulative_sum(spans)
        starts = pc.add(pc.subtract(ends, spans), line)
        line += int(ends[-1].as_py()) if batch.num_rows else 0
        arrays = {f"c{index}": batch.column(column) for index, column in enumerate(needed)}
        nothing = pa.nulls(batch.num_rows, pa.string())
        table = pa.table({LINE: starts, **arrays, PROBLEM: nothing, RAW: nothing})
        for offset in range(0, table.num_rows, batch_rows):
            yield table.slice(offset, batch_rows)


def _python_csv_batches(
    path: Path, needed: list[str], batch_rows: int, skip: int = 0, encoding: str = "utf-8"
) -> Iterator[pa.Table]:
    """The csv module's strict reading: a row with another number of fields than the header (an unquoted
    comma), a quote left open (it would swallow the rows after it), or bytes that are not in the file's encoding
    make that row a PROBLEM, at the line it starts on."""
    python_encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    with open(path, newline="", encoding=python_encoding, errors="surrogateescape") as handle:
        reader = csv.reader(handle, strict=True)
        header = next(reader, [])
        missing = [column for column in needed if column not in header]
        if missing:
            raise MappingError(f"{path}: no column(s) {', '.join(missing)} (columns: {', '.join(header)})")
        positions = [header.index(column) for column in needed]
        rows = _Rows(needed)
        start = reader.line_num + 1
        while True:
            record: list[str] = []
            raw: str | None = None
            try:
                record = next(reader)
                problem = _row_problem(record, len(header), encoding) if record else None
                if problem:
                    raw = _shown(",".join(record))
            except StopIteration:
                break
            except csv.Error as error:
                problem = f"unreadable CSV (lines {start}–{reader.line_num}): {error}; a quote left open?"
            if not record and not problem:  # a blank line: the csv module skips it, and so does the count
                start = reader.line_num + 1
                continue
            if skip:
                skip -= 1
            elif problem:
                rows.add_problem(start, problem, raw)
            else:
                rows.add(start, [record[position] for position in positions])
            start = reader.line_num + 1
            if len(rows) == batch_rows:
                yield rows.table()
                rows = _Rows(needed)
        if len(rows):
            yield rows.table()


def _row_problem(record: list[str], fields: int, encoding: str) -> str | None:
    if len(record) != fields:
        return f"{len(record)} fields where the header has {fields} (an unquoted comma, or a field missing?)"
    for index, value in enumerate(record):
        if any("\udc80" <= char <= "\udcff" for char in value):
            return (
                f"field {index + 1} has bytes that are not {encoding}: give the file's encoding in the mapping "
                "(encoding: latin-1, cp1252, …)"
            )
    return None


def _shown(text: str) -> str:
    """A malformed row as stored with its reject: undecodable bytes as \\xNN, at most 200 characters."""
    shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return shown if len(shown) <= 200 else shown[:199] + "…"


class _Rows:
    """Rows read by the csv module, column by column, with the problems of those it could not read."""

    def __init__(self, needed: list[str]) -> None:
        self.columns: list[list[str | None]] = [[] for _ in needed]
        self.lines: list[int] = []
        self.problems: list[str | None] = []
        self.raws: list[str | None] = []

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, line: int, values: list[str]) -> None:
        self.lines.append(line)
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)
        self.problems.append(None)
        self.raws.append(None)

    def add_problem(self, line: int, problem: str, raw: str | None) -> None:
        self.lines.append(line)
        for column in self.columns:
            column.append(None)
        self.problems.append(problem)
        self.raws.append(raw)

    def table(self) -> pa.Table:
        arrays = {f"c{index}": pa.array(values, pa.string()) for index, values in enumerate(self.columns)}
        return pa.table(
            {
                LINE: pa.array(self.lines, pa.int64()),
                **arrays,
                PROBLEM: pa.array(self.problems, pa.string()),
                RAW: pa.array(self.raws, pa.string()),
            }
        )


def file_batches(
    path: Path, needed: list[str], batch_rows: int | None = None, encoding: str = "utf-8"
) -> Iterator[pa.Table]:
    """The `needed` columns of a CSV or Parquet file (by its suffix), as `csv_batches` gives them."""
    if path.suffix.lower() == ".parquet":
        return _parquet_batches(path, needed, batch_rows or BATCH_ROWS)
    return csv_batches(path, needed, batch_rows, encoding=encoding)


def _parquet_batches(path: Path, needed: list[str], batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    missing = [column for column in needed if column not in names]
    if missing:
        raise MappingError(f"{path}: no column(s) {', '.join(missing)} (columns: {', '.join(names)})")
    row = 1
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=needed):
        arrays = {f"c{index}": batch.column(column).cast(pa.string()) for index, column in enumerate(needed)}
        nothing = pa.nulls(batch.num_rows, pa.string())
        lines = pa.array(range(row, row + batch.num_rows), pa.int64())
        yield pa.table({LINE: lines, **arrays, PROBLEM: nothing, RAW: nothing})
        row += batch.num_rows


def ingest_registry(
    backend: Backend,
    path: Path,
    mapping: Mapping,
    dataset: str,
    on_versions: Callable[[list[str]], None] | None = None,
    ledger_log: str | None = None,
    batch_rows: int | None = None,
) -> RegistrySummary:
    """Load one extract. Raises MappingError when the file lacks a mapped column.

    Each batch is loaded in one transaction (its versions and its rejects); a rerun after a crash stores what an
    uninterrupted run stores (rows already stored are unchanged versions; a reject already recorded is not
    recorded twice). With `ledger_log`, the run first records that the log is owed this run's versions
    (`clearsight.engine.pending`); the caller clears that once the ledger has them."""
    backend.ensure_tables(REGISTRY_TABLES)
    run_id = f"registry-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    if ledger_log is not None:
        pending.owe(backend, ledger_log, f"registry_{mapping.kind}", run_id)
    summary = RegistrySummary(run_id, dataset, mapping.kind, str(path))
    needed = list(dict.fromkeys([*mapping.columns.values(), *mapping.keep]))
    position = {column: f"c{index}" for index, column in enumerate(needed)}
    batches = file_batches(path, needed, batch_rows, mapping.encoding)
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
            with backend.registered("_registry_batch", batch), backend.transaction():
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
    backend.execute(
        f"CREATE OR REPLACE TEMP TABLE _registry_parsed AS SELECT {', '.join(parsed)} FROM _registry_batch "
        f"WHERE {PROBLEM} IS NULL"
    )

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
        SELECT {LINE}, NULL::VARCHAR, {RAW}, {PROBLEM} FROM _registry_batch WHERE {PROBLEM} IS NOT NULL
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
    # A reject already recorded for this very line of this file (by a run that was killed, or an earlier run of
    # the same file) is not recorded again.
    backend.execute(f"""
        INSERT INTO registry_rejects
        SELECT {run}, {d}, {kind}, {file}, p.line, p.column_name, p.value, p.reason FROM _registry_problems AS p
        WHERE NOT EXISTS (
            SELECT 1 FROM registry_rejects AS r
            WHERE r.dataset = {d} AND r.kind = {kind} AND r.source_file = {file} AND r.source_line = p.line
              AND r.column_name IS NOT DISTINCT FROM p.column_name AND r.value IS NOT DISTINCT FROM p.value
              AND r.reason = p.reason
        )
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
    rows = int(backend.query_value("SELECT count(*) FROM _registry_batch"))
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
