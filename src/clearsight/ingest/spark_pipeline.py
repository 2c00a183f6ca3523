"""OCDS ingest on Spark: the DuckDB pipeline's releases, rejects and canonical rows, computed on Spark's executors.

The work is the same as `clearsight.ingest.pipeline.OcdsIngest`'s and so is the code that judges the data (the
reader's classification, the OCDS merge, the flattening and its normalisations): only where it runs differs.

1. read: a JSON Lines file (plain, or gzip named `.gz`) is read by Spark's text source, split across executors;
   each task classifies its lines (`reader.lines_outcomes`) into releases and rejects, numbered within the task;
   a count per task turns those numbers into the file's line numbers. Other inputs (whole JSON documents, zip
   archives, standard input, gzip without `.gz`) are read by the driver exactly as on DuckDB.
2. store: releases not stored before (the first of identical ones) are appended to `source_releases`.
3. compile: the stored releases of every process that received a new one are shuffled by ocid, sorted in merge
   order and compiled and flattened on the executors, one row per process holding its rows of every canonical
   table; those rows are appended (a first ingest of these processes) or, when the warehouse already held some of
   them, the dataset's partition of each table is rewritten with them in place of the old ones.

Intermediate results are Parquet under `WAREHOUSE/_ingest/RUN`, removed at the end. The executors need
clearsight installed (in local mode they are this Python).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from clearsight.engine import Backend
from clearsight.ingest.digest import Digest, rows_to_table
from clearsight.ingest.flatten import RowBuffer, arrow_schema
from clearsight.ingest.pipeline import FileSummary, OcdsIngest
from clearsight.ingest.reader import Blank, Reject, Unit, detect, lines_outcomes
from clearsight.ingest.sources import GZIP_MAGIC, CountingReader, InputFile
from clearsight.model import CONTRACTING_TABLES, QUALITY_ISSUES, SOURCE_RELEASES, Table

# What a read task emits: a release, a reject, or (once per task) how many lines and blank lines it read.
LINE_SCHEMA = pa.schema(
    [
        ("row_type", pa.string()),  # release | reject | count
        ("part", pa.int32()),  # the task
        ("file_order", pa.int32()),  # the file it read (its place in the reading order)
        ("seq", pa.int64()),  # order of the outcome within the task
        ("line", pa.int64()),  # line within the task (1-based); for a count row, the task's lines
        ("blank", pa.int64()),  # count rows: blank lines
        ("ocid", pa.string()),
        ("kind", pa.string()),
        ("release_id", pa.string()),
        ("release_date", pa.string()),
        ("sha256", pa.string()),
        ("data", pa.string()),
        ("path", pa.string()),
        ("reason", pa.string()),
        ("value", pa.string()),
    ]
)

_SPARK_TYPES = {
    "VARCHAR": "STRING",
    "DOUBLE": "DOUBLE",
    "BIGINT": "BIGINT",
    "INTEGER": "INT",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMPTZ": "STRING",  # ISO 8601 text from the flattening, cast on insert
    "JSON": "STRING",
    "VARCHAR[]": "ARRAY<STRING>",
}

ROW_TABLES: tuple[Table, ...] = (*CONTRACTING_TABLES, QUALITY_ISSUES)


def _struct_type(table: Table) -> str:
    return "STRUCT<" + ", ".join(f"`{c.name}`: {_SPARK_TYPES[c.type]}" for c in table.columns) + ">"


# What a compile task emits: one row per process, its rows of every table (and its quality issues) as lists.
COMPILED_SCHEMA = ", ".join(
    [
        "ocid STRING",
        "failure_file STRING",
        "failure_line BIGINT",
        "failure_path STRING",
        "failure_reason STRING",
        *(f"`{table.name}` ARRAY<{_struct_type(table)}>" for table in ROW_TABLES),
    ]
)


def _line_rows(rows: dict[str, list[Any]], outcome: Any, part: int, file_order: int | None, seq: int) -> None:
    values: dict[str, Any]
    if isinstance(outcome, Unit):
        values = {
            "row_type": "release",
            "ocid": outcome.ocid,
            "kind": outcome.kind,
            "release_id": outcome.release_id,
            "release_date": outcome.date,
            "sha256": hashlib.sha256(outcome.data).hexdigest(),
            "data": outcome.data.decode("utf-8"),
            "line": outcome.line,
        }
    else:
        assert isinstance(outcome, Reject)
        values = {
            "row_type": "reject",
            "ocid": outcome.ocid,
            "path": outcome.path,
            "reason": outcome.reason,
            "value": outcome.value,
            "line": outcome.line,
        }
    values["part"] = part
    values["file_order"] = file_order
    values["seq"] = seq
    for name in LINE_SCHEMA.names:
        rows[name].append(values.get(name))


def read_task(batches: Iterator[pa.RecordBatch], compiled: bool) -> Iterator[pa.RecordBatch]:
    """Executor side of step 1: classify a task's lines (raw bytes) as the DuckDB pipeline does."""
    from pyspark import TaskContext

    context = TaskContext.get()
    part = context.partitionId() if context is not None else 0
    lines = blank = seq = 0
    file_order = None  # every task reads a piece of one file
    for batch in batches:
        values = batch.column(0).to_pylist()
        if values:
            file_order = batch.column(1)[0].as_py()
        rows: dict[str, list[Any]] = {name: [] for name in LINE_SCHEMA.names}
        for outcome in lines_outcomes(values, lines + 1, compiled):
            if isinstance(outcome, Blank):
                blank += 1
                continue
            _line_rows(rows, outcome, part, file_order, seq)
            seq += 1
        lines += len(values)
        if rows["row_type"]:
            yield pa.RecordBatch.from_pydict(rows, schema=LINE_SCHEMA)
    count: dict[str, list[Any]] = {name: [None] for name in LINE_SCHEMA.names}
    count.update(row_type=["count"], part=[part], file_order=[file_order], line=[lines], blank=[blank])
    yield pa.RecordBatch.from_pydict(count, schema=LINE_SCHEMA)


def _compiled_arrow_schema() -> pa.Schema:
    fields = [
        pa.field("ocid", pa.string()),
        pa.field("failure_file", pa.string()),
        pa.field("failure_line", pa.int64()),
        pa.field("failure_path", pa.string()),
        pa.field("failure_reason", pa.string()),
    ]
    fields += [pa.field(table.name, pa.list_(pa.struct(list(arrow_schema(table))))) for table in ROW_TABLES]
    return pa.schema(fields)


def compile_task(
    batches: Iterator[pa.RecordBatch], dataset: str, run_id: str, group_size: int = 1_000
) -> Iterator[pa.RecordBatch]:
    """Executor side of step 3: compile and flatten each process of a task (rows arrive sorted by ocid, then in
    merge order), as `OcdsIngest.compile_affected` does; a process that cannot be compiled has no rows and says why."""
    schema = _compiled_arrow_schema()
    issue_schema = arrow_schema(QUALITY_ISSUES)

    def groups() -> Iterator[tuple[str, list[dict[str, Any]]]]:
        current: str | None = None
        group: list[dict[str, Any]] = []
        for batch in batches:
            for row in batch.to_pylist():
                if row["ocid"] != current:
                    if group:
                        yield current, group  # type: ignore[misc]
                    current, group = row["ocid"], []
                group.append(row)
        if group:
            yield current, group  # type: ignore[misc]

    every = groups()
    while chunk := list(itertools.islice(every, group_size)):
        rows = RowBuffer()
        issues: list[tuple[Any, ...]] = []
        offsets: dict[str, list[int]] = {table.name: [0] for table in ROW_TABLES}
        out: dict[str, list[Any]] = {
            "ocid": [], "failure_file": [], "failure_line": [], "failure_path": [], "failure_reason": []
        }  # fmt: skip
        for ocid, group in chunk:
            log = OcdsIngest.flatten_group(ocid, group, dataset, run_id, rows)
            failure: tuple[str | int | None, ...] = (None, None, None, None)
            if isinstance(log, Reject):
                failure = (log.file or group[-1]["source_file"], log.line, log.path, log.reason)
            else:
                issues += [(run_id, dataset, ocid, *issue) for issue in log.issues]
            out["ocid"].append(ocid)
            for name, value in zip(list(out)[1:], failure, strict=True):
                out[name].append(value)
            for table in CONTRACTING_TABLES:
                offsets[table.name].append(len(rows.rows[table.name]))
            offsets[QUALITY_ISSUES.name].append(len(issues))
        flat = rows.to_arrow()
        flat[QUALITY_ISSUES.name] = rows_to_table(issue_schema, issues)
        arrays: list[pa.Array] = [pa.array(out[name], schema.field(name).type) for name in out]
        for table in ROW_TABLES:
            values = flat[table.name]
            struct = pa.StructArray.from_arrays(
                [column.combine_chunks() for column in values.columns], fields=list(values.schema)
            )
            arrays.append(pa.ListArray.from_arrays(pa.array(offsets[table.name], pa.int32()), struct))
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _cast(table: Table) -> str:
    """Spark SQL selecting a table's columns (from rows of `_struct_type`), timestamps cast from their text."""
    return ", ".join(
        f"CAST(`{column.name}` AS TIMESTAMP) AS `{column.name}`" if column.type == "TIMESTAMPTZ" else f"`{column.name}`"
        for column in table.columns
    )


class SparkOcdsIngest(OcdsIngest):
    """`OcdsIngest` whose reading, compiling and writing run as Spark jobs on the warehouse's session."""

    def __init__(self, backend: Backend, dataset: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(backend, dataset, *args, **kwargs)
        self.session: Any = backend.session  # type: ignore[attr-defined]
        self.staging = Path(backend.path) / "_ingest" / self.summary.run_id
        self._parts: list[str] = []  # relations (Parquet folders, queries) of the releases read, in reading order
        self._order = 0  # the place in the reading order of the file the driver reads
        self._driver_rows: list[pa.Table] = []
        self._driver_staged = 0

    # --- step 1 ---------------------------------------------------------------------------------------------
    def _read_all(self, files: list[InputFile]) -> None:
        """The driver reads what Spark cannot split, in order; then one Spark job reads every JSON Lines file."""
        distributed: list[tuple[int, InputFile]] = []
        order_of: dict[int, int] = {}
        for order, input_file in enumerate(files):
            if self._splittable(input_file):
                distributed.append((order, input_file))
                continue
            self._order = order
            order_of[id(super().read_file(input_file))] = order
        self._flush_staged()
        if distributed:
            for file, order in self._read_distributed(distributed):
                order_of[id(file)] = order
        self.summary.files.sort(key=lambda file: order_of[id(file)])

    def _splittable(self, input_file: InputFile) -> bool:
        """A JSON Lines file on disk that Spark's text source decompresses as it should (gzip exactly when `.gz`)."""
        path = Path(input_file.label)
        if input_file.label == "<stdin>" or not path.is_file():
            return False  # standard input, or a member of a zip archive
        with open(path, "rb") as handle:
            gzipped = handle.read(2) == GZIP_MAGIC
        if gzipped != (path.suffix.lower() == ".gz"):
            return False
        with input_file.open() as stream:
            detected = detect(stream, input_file.label)
            return detected.format == "json-lines" and detected.encoding == "utf-8"  # Spark reads plain UTF-8

    def _read_distributed(self, inputs: list[tuple[int, InputFile]]) -> list[tuple[FileSummary, int]]:
        """Read JSON Lines files with Spark's text source, one job for all; store their rejects, stage releases."""
        from pyspark.sql import DataFrame

        session = self.session
        summaries: dict[int, FileSummary] = {}
        labels: dict[int, str] = {}
        for order, input_file in inputs:
            file = FileSummary(input_file.label, "", 0, "json-lines")
            stream = input_file.open()
            counting = CountingReader(stream)  # the file's hash and size, as the DuckDB pipeline records them
            try:
                while chunk := counting.read(1 << 20):
                    self.progress("read", len(chunk), None)
            finally:
                stream.close()
            assert counting.sha256 is not None
            file.sha256, file.bytes = counting.sha256.hexdigest(), counting.count
            summaries[order], labels[order] = file, input_file.label
        # A union of one scan per file: each task reads a piece of one file, and tasks come in file order.
        frames = [
            session.read.text(str(Path(input_file.label).resolve())).selectExpr(
                "CAST(value AS BINARY) AS value", f"{order} AS file_order"
            )
            for order, input_file in inputs
        ]
        lines = functools.reduce(DataFrame.unionAll, frames)
        folder = str(self.staging / "lines")
        task = functools.partial(read_task, compiled=self.compiled)
        lines.mapInArrow(task, _spark_schema(LINE_SCHEMA)).write.parquet(folder)
        location = f"parquet.`{folder}`"
        # Line numbers within a task become line numbers within its file.
        offsets: list[str] = []
        running: dict[int, int] = {}
        for part, file_order, count, blank in session.sql(
            f"SELECT part, file_order, line, blank FROM {location} WHERE row_type = 'count' ORDER BY part"
        ).collect():
            if file_order is None:  # a task that read nothing
                continue
            offsets.append(f"({part}, {running.get(file_order, 0)}, {_quoted(labels[file_order])})")
            running[file_order] = running.get(file_order, 0) + count
            summaries[file_order].blank += blank
        offsets = offsets or ["(-1, 0, '')"]
        session.sql(f"SELECT * FROM VALUES {', '.join(offsets)} AS o(part, offset, label)").createOrReplaceTempView(
            "_ingest_offsets"
        )
        numbered = f"""SELECT r.*, r.line + o.offset AS file_line, o.label FROM {location} AS r
                       JOIN _ingest_offsets AS o ON r.part = o.part WHERE r.row_type <> 'count'"""
        run, dataset = _quoted(self.summary.run_id), _quoted(self.dataset)
        for file_order, row_type, reason, count in session.sql(f"""
                SELECT file_order, row_type, CASE WHEN row_type = 'reject' THEN reason END, count(*)
                FROM {location} WHERE row_type <> 'count' GROUP BY 1, 2, 3""").collect():
            file = summaries[file_order]
            if row_type == "reject":
                file.rejected += count
                self._reject_reasons[reason.split(":")[0]] += count
            else:
                file.releases_read += count
        if any(file.rejected for file in summaries.values()):
            session.sql(f"""
                INSERT INTO ingest_rejects (run_id, dataset, file, line, ocid, path, value, reason)
                SELECT {run}, {dataset}, label, file_line, ocid, path, value, reason
                FROM ({numbered}) WHERE row_type = 'reject'""").collect()
        # The releases, read from the task files where they are (no copy): `_ingest_offsets` lives until the end.
        self._parts.append(f"""(
            SELECT {dataset} AS dataset, ocid, kind, release_id, release_date, sha256, data, label AS source_file,
                   file_line AS source_line, {run} AS ingest_run_id, file_order, part, seq
            FROM ({numbered}) WHERE row_type = 'release')""")
        out = []
        for order, file in summaries.items():
            file.objects_read = file.releases_read + file.rejected + file.blank
            self._count_file(file)
            out.append((file, order))
        return out

    # Inputs the driver reads: their releases are staged as Parquet too, with their place in the reading order.
    def _absorb(self, digest: Digest, label: str, file: FileSummary) -> None:
        assert digest.staged_table is not None
        if digest.staged_table.num_rows:
            staged = digest.staged_table
            order = pa.array([self._order] * staged.num_rows, pa.int32())
            self._driver_rows.append(staged.append_column("file_order", order))
            self._driver_staged += staged.num_rows
        self._count_digest(digest, label, file)
        if self._driver_staged >= 100_000:
            self._flush_staged()

    def _flush_staged(self) -> None:
        if not self._driver_rows:
            return
        staged = pa.concat_tables(self._driver_rows)
        staged = staged.append_column("part", pa.array([0] * staged.num_rows, pa.int32()))
        staged = staged.append_column("seq", pa.array(range(staged.num_rows), pa.int64()))
        folder = str(self.staging / f"driver-{len(self._parts)}")
        self.session.createDataFrame(staged).write.parquet(folder)
        self._parts.append(f"parquet.`{folder}`")
        self._driver_rows.clear()
        self._driver_staged = 0

    # --- step 2 ---------------------------------------------------------------------------------------------
    def _store(self) -> int:
        """Append the releases not stored before; the ocids that received one are in `_ingest_affected`."""
        session = self.session
        columns = ", ".join(SOURCE_RELEASES.column_names)
        dataset, run = _quoted(self.dataset), _quoted(self.summary.run_id)
        staged = " UNION ALL ".join(f"SELECT {columns}, file_order, part, seq FROM {part}" for part in self._parts)
        session.sql(f"""
            INSERT INTO source_releases ({columns})
            SELECT {columns} FROM (
                SELECT s.*, row_number() OVER (PARTITION BY ocid, sha256 ORDER BY file_order, part, seq) AS n
                FROM ({staged}) AS s
            ) AS batch
            WHERE n = 1 AND NOT EXISTS (
                SELECT 1 FROM source_releases AS stored
                WHERE stored.dataset = {dataset} AND stored.ocid = batch.ocid AND stored.sha256 = batch.sha256)
        """).collect()
        # What this run stored carries its id: the processes to compile, kept small (their ocids only).
        affected = str(self.staging / "affected")
        session.sql(f"""
            SELECT ocid, count(*) AS releases FROM source_releases
            WHERE dataset = {dataset} AND ingest_run_id = {run} GROUP BY ocid""").write.parquet(affected)
        session.read.parquet(affected).createOrReplaceTempView("_ingest_affected")
        return int(session.sql("SELECT coalesce(sum(releases), 0) FROM _ingest_affected").first()[0])

    # --- step 3 ---------------------------------------------------------------------------------------------
    def _compile(self) -> str:
        session = self.session
        releases = session.sql(f"""
            SELECT s.ocid, s.kind, s.data, s.source_file, s.release_date, s.source_line
            FROM source_releases AS s LEFT SEMI JOIN _ingest_affected AS a ON s.ocid = a.ocid
            WHERE s.dataset = {_quoted(self.dataset)}""")
        task = functools.partial(compile_task, dataset=self.dataset, run_id=self.summary.run_id)
        folder = str(self.staging / "compiled")
        order = [releases[name].asc_nulls_last() for name in ("ocid", "release_date", "source_file", "source_line")]
        grouped = releases.repartition("ocid").sortWithinPartitions(*order)
        grouped.mapInArrow(task, COMPILED_SCHEMA).write.parquet(folder)
        return folder

    def _write(self, compiled: str) -> None:
        session = self.session
        source = f"parquet.`{compiled}`"
        dataset = _quoted(self.dataset)
        sizes = ", ".join(f"coalesce(sum(size(`{table.name}`)), 0)" for table in ROW_TABLES)
        written, failed, *rows_per_table = session.sql(
            f"SELECT count_if(failure_reason IS NULL), count_if(failure_reason IS NOT NULL), {sizes} FROM {source}"
        ).first()
        self.summary.processes_written = int(written)
        rows_in = dict(zip((table.name for table in ROW_TABLES), rows_per_table, strict=True))
        if failed:
            for ocid, file, line, path, reason in session.sql(
                f"SELECT ocid, failure_file, failure_line, failure_path, failure_reason FROM {source} "
                "WHERE failure_reason IS NOT NULL ORDER BY ocid"
            ).collect():
                self.summary.processes_failed += 1
                self._reject(file, Reject(line or 0, path or "", reason, "", ocid))
        if rows_in[QUALITY_ISSUES.name]:
            for issue, count in session.sql(
                f"SELECT i.issue, count(*) FROM {source} LATERAL VIEW explode(`{QUALITY_ISSUES.name}`) t AS i "
                "GROUP BY 1"
            ).collect():
                self._issue_counts[issue] += count
                self.summary.quality_issues += count
        known = session.sql(
            f"SELECT count(*) FROM processes WHERE dataset = {dataset} AND ocid IN (SELECT ocid FROM _ingest_affected)"
        ).first()[0]
        for table in ROW_TABLES:
            columns = ", ".join(f"`{name}`" for name in table.column_names)
            rows = f"SELECT {_cast(table)} FROM (SELECT inline(`{table.name}`) FROM {source})"
            if not known:
                if rows_in[table.name]:  # (a job per table that has rows, not per table)
                    session.sql(f"INSERT INTO {table.name} ({columns}) {rows}").collect()
                continue
            # Some processes were known: the dataset's partition is rewritten, their old rows replaced.
            kept = f"""SELECT {columns} FROM {table.name} WHERE dataset = {dataset}
                       AND ocid NOT IN (SELECT ocid FROM _ingest_affected)"""
            folder = str(self.staging / f"rewrite-{table.name}")
            session.sql(f"{kept} UNION ALL SELECT {columns} FROM ({rows})").write.parquet(folder)
            others = ", ".join(f"`{name}`" for name in table.column_names if name != "dataset")
            session.sql(
                f"INSERT OVERWRITE {table.name} PARTITION (dataset = {dataset}) SELECT {others} FROM parquet.`{folder}`"
            ).collect()

    # --- the whole run --------------------------------------------------------------------------------------
    def _run_steps(self, files: list[InputFile]) -> None:
        try:
            self._read_all(files)
            self._flush_rejects()
            if self._parts:
                self.summary.new_releases = self._store()
                self.summary.duplicate_releases = self.summary.releases_read - self.summary.new_releases
                if self.summary.new_releases:
                    self.progress("compile", 0, None)
                    self._write(self._compile())
            self._flush_rejects()
        finally:
            self.session.catalog.dropTempView("_ingest_affected")
            self.session.catalog.dropTempView("_ingest_offsets")
            shutil.rmtree(self.staging, ignore_errors=True)


def _spark_schema(schema: pa.Schema) -> str:
    names = {pa.string(): "STRING", pa.int32(): "INT", pa.int64(): "BIGINT"}
    return ", ".join(f"{field.name} {names[field.type]}" for field in schema)
