"""OCDS ingest: read inputs, store every release once, (re)compile affected processes, write canonical rows.

Streaming, with bounded memory, in batches:

1. read: every input value becomes a staged release (or a reject, or a counted blank line). Compiled releases
   are flattened into canonical rows straight away (they need no merging);
2. store: each batch's releases not seen before are added to `source_releases`. A compiled release whose
   process is new and appears once is final: its rows are written. Every other process that received a new
   release (releases to merge, records, several versions, a process known before) is noted;
3. recompile: each noted process is compiled from all of its stored releases and its rows are replaced.

Re-running the same input therefore changes nothing (every release is already stored), and a newer release
of a known process updates that process.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from clearsight import __version__
from clearsight.engine import Backend, pending
from clearsight.ingest.digest import Digest, digest_lines, digest_outcomes, rows_to_table
from clearsight.ingest.flatten import RowBuffer, arrow_schema, flatten_release
from clearsight.ingest.merge import MergeError, compile_releases
from clearsight.ingest.normalise import IssueLog
from clearsight.ingest.reader import ReadStats, Reject, detect, document_outcomes
from clearsight.ingest.sources import CountingReader, InputFile, discover, is_truncated
from clearsight.model import (
    ALL_TABLES,
    CONTRACTING_TABLES,
    INGEST_FILES,
    INGEST_REJECTS,
    INGEST_RUNS,
    QUALITY_ISSUES,
    SOURCE_RELEASES,
)

logger = logging.getLogger(__name__)

NEW_TABLE = "ingest_new_releases"
# Processes that received a new release and await (re)compiling, per dataset. Durable on purpose: a row is added
# in the transaction that stores the release and removed in the one that writes the process's rows, so a run
# killed at any moment leaves exactly the work the next run must finish.
PENDING_TABLE = "ingest_pending"
LEGACY_AFFECTED_TABLE = "ingest_affected"  # the per-run table of versions before 0.2 (dropped at every start)
STAGE_BATCH = 10_000
CHUNK_BYTES = 4 * 1024 * 1024  # JSON Lines are digested in blocks of about this size
PARALLEL_MIN_BYTES = 32 * 1024 * 1024  # smaller inputs are digested in this process
COMPILE_BATCH = 5_000
ENGINE_SHARE = 0.25  # of the run's memory budget, for the engine; the rest is Python's, its workers' and batches'

ProgressCallback = Callable[[str, int, int | None], None]  # (phase, advance, total)


@dataclass
class FileSummary:
    path: str
    sha256: str
    bytes: int
    format: str
    objects_read: int = 0
    releases_read: int = 0
    rejected: int = 0
    blank: int = 0


@dataclass
class IngestSummary:
    """What an ingest run read and what came of each object."""

    run_id: str
    dataset: str
    files: list[FileSummary] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    objects_read: int = 0
    releases_read: int = 0
    new_releases: int = 0
    duplicate_releases: int = 0
    processes_written: int = 0
    processes_failed: int = 0
    # Runs found killed before they finished: each recorded in ingest_runs as interrupted; what they stored is
    # kept, and the processes they left pending are compiled by this run.
    interrupted_runs: list[str] = field(default_factory=list)
    processes_recovered: int = 0
    rejected: int = 0
    blank: int = 0
    quality_issues: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    quality_issue_counts: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    bytes_read: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def accounted(self) -> bool:
        """Every object read is a release read, a reject or a blank line."""
        return self.objects_read == self.releases_read + self.rejected + self.blank


def _new_run_id() -> str:
    return f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


_REJECT_SCHEMA = arrow_schema(INGEST_REJECTS)
_ISSUE_SCHEMA = arrow_schema(QUALITY_ISSUES)


_table = rows_to_table


class OcdsIngest:
    """One ingest run into a backend."""

    def __init__(
        self,
        backend: Backend,
        dataset: str,
        progress: ProgressCallback | None = None,
        workers: int | None = None,
        compiled: bool = False,
    ) -> None:
        if not dataset or not dataset.strip():
            raise ValueError("dataset name must not be empty")
        self.backend = backend
        self.dataset = dataset
        self.progress = progress or (lambda phase, advance, total: None)
        self.summary = IngestSummary(run_id=_new_run_id(), dataset=dataset)
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.compiled = compiled  # every release read is a compiled release, tagged or not
        # A memory budget for the whole run, workers included (see `stage_bytes` and ENGINE_SHARE).
        self.memory_budget: int | None = None
        # A ledger log and the entry it is owed for this run: recorded with the run's row (engine.pending).
        self.ledger: tuple[str, Callable[[IngestSummary], str]] | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._staged: list[pa.Table] = []
        self._staged_rows = 0
        self._staged_bytes = 0
        self._early_tables: list[dict[str, pa.Table]] = []
        self._early_issues: list[tuple[Any, ...]] = []
        self._early_failed: set[str] = set()
        self._rejects: list[tuple[Any, ...]] = []
        self._reject_reasons: Counter[str] = Counter()
        self._issue_counts: Counter[str] = Counter()

    @property
    def stage_bytes(self) -> int:
        """The most a batch of staged releases may hold: 1/48 of the memory budget (at least 1 MiB); without a
        budget, batches are bounded by their number of releases only."""
        return 1 << 62 if self.memory_budget is None else max(1 << 20, self.memory_budget // 48)

    # --- phase 1: read --------------------------------------------------------------------------------
    def _absorb(self, digest: Digest, label: str, file: FileSummary) -> None:
        """Take one digested chunk: stage its releases and early rows, record its rejects, count."""
        assert digest.staged_table is not None
        if digest.staged_table.num_rows:
            self._staged.append(digest.staged_table)
            self._staged_rows += digest.staged_table.num_rows
            self._staged_bytes += digest.staged_table.nbytes + sum(t.nbytes for t in digest.early_rows.values())
        if digest.early_rows:
            self._early_tables.append(digest.early_rows)
        self._early_issues.extend(digest.early_issues)
        self._early_failed |= digest.early_failed
        self._count_digest(digest, label, file)
        if self._staged_rows >= STAGE_BATCH or self._staged_bytes >= self.stage_bytes:
            self._flush_staged()

    def _count_digest(self, digest: Digest, label: str, file: FileSummary) -> None:
        """Record a digested chunk's rejects; count its objects in the file's summary."""
        assert digest.staged_table is not None
        for line, path, reason, value, ocid in digest.rejects:
            self._reject(label, Reject(line, path, reason, value, ocid))
        file.objects_read += digest.objects
        file.releases_read += digest.staged_table.num_rows
        file.rejected += len(digest.rejects)
        file.blank += digest.blank

    def _count_file(self, file: FileSummary) -> None:
        """Add a file read to the run's summary."""
        self.summary.files.append(file)
        self.summary.objects_read += file.objects_read
        self.summary.releases_read += file.releases_read
        self.summary.rejected += file.rejected
        self.summary.blank += file.blank
        self.summary.bytes_read += file.bytes

    def _flush_staged(self) -> None:
        """Store the batch's new releases; write the rows of new compiled processes; note the rest."""
        if not self._staged:
            return
        backend = self.backend
        columns = ", ".join(SOURCE_RELEASES.column_names)
        staged = pa.concat_tables(self._staged)
        staged = staged.append_column("batch_row", pa.array(range(staged.num_rows), pa.int64()))
        with backend.transaction(), backend.registered("ingest_batch", staged):
            backend.execute(f"DROP TABLE IF EXISTS {NEW_TABLE}")
            # Keys of the releases not stored before (the first of identical ones in the batch) ...
            backend.execute(f"""
                CREATE TEMP TABLE {NEW_TABLE} AS
                SELECT ocid, kind, batch_row FROM (
                    SELECT ocid, kind, sha256, batch_row, dataset,
                           row_number() OVER (PARTITION BY ocid, sha256 ORDER BY batch_row) AS n
                    FROM ingest_batch
                ) AS batch
                WHERE n = 1 AND NOT EXISTS (
                    SELECT 1 FROM source_releases AS stored
                    WHERE stored.dataset = batch.dataset AND stored.ocid = batch.ocid
                      AND stored.sha256 = batch.sha256)""")
            # ... and their data, copied once.
            selected = ", ".join(f"b.{name}" for name in SOURCE_RELEASES.column_names)
            backend.execute(f"""
                INSERT INTO source_releases ({columns})
                SELECT {selected} FROM ingest_batch AS b
                SEMI JOIN {NEW_TABLE} AS k ON b.batch_row = k.batch_row""")
            new = backend.query(
                f"""
                SELECT n.ocid, count(*) AS releases, bool_and(n.kind = 'compiled') AS compiled,
                       EXISTS (SELECT 1 FROM processes AS p WHERE p.dataset = ? AND p.ocid = n.ocid)
                       OR EXISTS (SELECT 1 FROM {PENDING_TABLE} AS a WHERE a.dataset = ? AND a.ocid = n.ocid)
                       AS known,
                       (SELECT count(*) FROM ingest_batch AS b WHERE b.ocid = n.ocid) AS copies
                FROM {NEW_TABLE} AS n
                GROUP BY n.ocid""",
                [self.dataset, self.dataset],
            )
            final: list[str] = []
            later: list[str] = []
            for ocid, _releases, compiled, known, copies in new:
                # Final: a compiled release read once in the batch (identical copies were each flattened early;
                # their process is compiled again from the one stored instead).
                is_final = compiled and copies == 1 and not known and ocid not in self._early_failed
                (final if is_final else later).append(ocid)
            self.summary.new_releases += sum(row[1] for row in new)
            if final:
                self._write_early_rows(final)
            if later:
                pending = {"dataset": pa.array([self.dataset] * len(later), pa.string()), "ocid": pa.array(later)}
                backend.append_arrow(PENDING_TABLE, pa.table(pending))
            backend.execute(f"DROP TABLE IF EXISTS {NEW_TABLE}")
        self._staged.clear()
        self._staged_rows = 0
        self._staged_bytes = 0
        self._early_tables.clear()
        self._early_issues.clear()
        self._early_failed.clear()

    def _write_early_rows(self, ocids: list[str]) -> None:
        """Write the early rows of the given processes (others flattened early were duplicates or not final)."""
        keep = pa.array(ocids, pa.string())
        flattened = sum(tables["processes"].num_rows for tables in self._early_tables)
        all_final = flattened == len(ocids) and not self._early_failed
        for table in CONTRACTING_TABLES:
            parts = [tables[table.name] for tables in self._early_tables]
            if not parts:
                continue
            data = pa.concat_tables(parts)
            if not all_final:
                data = data.filter(pc.is_in(data.column("ocid"), value_set=keep))
            self.backend.append_arrow(table.name, data)
        issues = _table(_ISSUE_SCHEMA, self._early_issues)
        if not all_final:
            issues = issues.filter(pc.is_in(issues.column("ocid"), value_set=keep))
        self.backend.append_arrow(QUALITY_ISSUES.name, issues)
        self.summary.processes_written += len(ocids)
        self.summary.quality_issues += issues.num_rows
        for issue in issues.column("issue").to_pylist():
            self._issue_counts[issue] += 1

    def _reject(self, label: str, reject: Reject) -> None:
        self._rejects.append(
            (
                self.summary.run_id,
                self.dataset,
                label,
                reject.line,
                reject.ocid,
                reject.path,
                reject.value,
                reject.reason,
            )
        )
        reason = reject.reason.split(":")[0]
        self._reject_reasons[reason] += 1
        if len(self._rejects) >= STAGE_BATCH:
            self._flush_rejects()

    def _flush_rejects(self) -> None:
        self._append_rejects(self._rejects)
        self._rejects.clear()

    def _append_rejects(self, rejects: list[tuple[Any, ...]]) -> None:
        """Record rejects not recorded before: reading the same input again (a re-run, a run after one that was
        killed) finds the same bad lines, and each stays one row, under the run that first found it. The run's
        summary still counts every reject it met."""
        if not rejects:
            return
        key = ("dataset", "file", "line", "ocid", "path", "value", "reason")
        same = " AND ".join(f"stored.{name} IS NOT DISTINCT FROM batch.{name}" for name in key)
        columns = ", ".join(INGEST_REJECTS.column_names)
        with self.backend.registered("ingest_reject_batch", _table(_REJECT_SCHEMA, rejects)):
            new = self.backend.query_arrow(f"""
                SELECT {columns} FROM (
                    SELECT *, row_number() OVER (PARTITION BY {", ".join(key)} ORDER BY run_id) AS copy
                    FROM ingest_reject_batch
                ) AS batch
                WHERE copy = 1 AND NOT EXISTS (SELECT 1 FROM {INGEST_REJECTS.name} AS stored WHERE {same})""")
        self.backend.append_arrow(INGEST_REJECTS.name, new)

    def read_file(self, input_file: InputFile) -> FileSummary:
        """Read one input, digesting it in chunks (in worker processes for large JSON Lines inputs)."""
        label = input_file.label
        counting = CountingReader(input_file.open())
        file = FileSummary(label, "", 0, "json-lines")
        reported = 0

        def report() -> None:
            nonlocal reported
            self.progress("read", counting.count - reported, None)
            reported = counting.count

        try:
            detected = detect(counting, label)  # type: ignore[arg-type]
            file.format = detected.format
            if detected.format == "empty":
                self._absorb(
                    digest_outcomes([Reject(0, "", "empty file", "")], label, self.dataset, self.summary.run_id),
                    label,
                    file,
                )
            elif detected.format == "json-lines":
                self._read_lines(itertools.chain(detected.first, detected.rest), input_file, file, report)
            else:
                stats = ReadStats(detected.format)
                outcomes = document_outcomes(detected, input_file.size, stats, self.compiled)
                while chunk := list(itertools.islice(outcomes, 2_000)):
                    self._absorb(digest_outcomes(chunk, label, self.dataset, self.summary.run_id), label, file)
                    report()
                file.format = stats.format
            while counting.read(1 << 20):  # whatever a parser left unread, so that the hash covers it all
                pass
        except (OSError, EOFError) as error:  # corrupt gzip, a decompression bomb, unreadable archive member, ...
            # Every line before the break was read; the rest is one reject at the line where reading stopped.
            file.objects_read += 1
            file.rejected += 1
            line = file.objects_read if file.format == "json-lines" else 0
            self._reject(label, Reject(line, "", f"unreadable input: {error}"))
        if is_truncated(counting):
            file.objects_read += 1
            file.rejected += 1
            line = file.objects_read if file.format == "json-lines" else 0
            reason = "truncated input: the compressed data stop before their end (every line before this was read)"
            self._reject(label, Reject(line, "", reason))
        report()
        assert counting.sha256 is not None
        file.sha256 = counting.sha256.hexdigest()
        file.bytes = counting.count
        self._count_file(file)
        return file

    def _read_lines(
        self, lines: Iterator[bytes], input_file: InputFile, file: FileSummary, report: Callable[[], None]
    ) -> None:
        label = input_file.label
        run_id = self.summary.run_id
        parallel = self.workers > 1 and (input_file.size is None or input_file.size >= PARALLEL_MIN_BYTES)
        in_flight: collections.deque[Future[Digest]] = collections.deque()
        next_line = 1
        unreadable: OSError | EOFError | None = None
        try:
            for block in _blocks(lines, CHUNK_BYTES):
                if not parallel:
                    digest = digest_lines(block, next_line, label, self.dataset, run_id, self.compiled)
                    self._absorb(digest, label, file)
                    report()
                else:
                    in_flight.append(
                        self._workers().submit(
                            digest_lines, block, next_line, label, self.dataset, run_id, self.compiled
                        )
                    )
                    if len(in_flight) > 2 * self.workers:  # bounded memory: wait for the oldest chunk
                        self._absorb(in_flight.popleft().result(), label, file)
                        report()
                next_line += len(block)
        except (OSError, EOFError) as error:  # the input broke off: keep every line read before it
            unreadable = error
        while in_flight:
            self._absorb(in_flight.popleft().result(), label, file)
            report()
        if unreadable is not None:
            raise unreadable

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent holds an engine with threads of its own.
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def _source_groups(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Stored releases of every affected process, grouped by ocid."""
        sql = f"""
            SELECT s.ocid, s.kind, s.data, s.source_file, s.source_line
            FROM source_releases AS s
            JOIN (SELECT DISTINCT ocid FROM {PENDING_TABLE} WHERE dataset = ?) AS a ON a.ocid = s.ocid
            WHERE s.dataset = ?
            ORDER BY s.ocid, s.release_date, s.source_file, s.source_line"""
        current: str | None = None
        group: list[dict[str, Any]] = []
        reader = self.backend.fork()
        try:
            for batch in reader.iter_batches(sql, [self.dataset, self.dataset], batch_size=2_000):
                ocids = batch.column(0).to_pylist()
                kinds = batch.column(1).to_pylist()
                datas = batch.column(2).to_pylist()
                files = batch.column(3).to_pylist()
                lines = batch.column(4).to_pylist()
                for ocid, kind, data, source_file, line in zip(ocids, kinds, datas, files, lines, strict=True):
                    if ocid != current:
                        if group:
                            yield current, group  # type: ignore[misc]
                        current, group = ocid, []
                    group.append({"kind": kind, "data": data, "source_file": source_file, "source_line": line})
            if group:
                yield current, group  # type: ignore[misc]
        finally:
            reader.close()

    @staticmethod
    def compile_group(group: list[dict[str, Any]]) -> dict[str, Any]:
        """The compiled release of one process from its stored releases (given in date order).

        A record's compiledRelease is used as published, with any newer releases merged on top. Otherwise
        every release (including releases the publisher tagged "compiled") is merged by the OCDS rules; a
        lone compiled release is taken as it is, with the id a merge would give it (ocid-date).
        """
        records = [item for item in group if item["kind"] == "record"]
        if len(group) == 1 and group[0]["kind"] == "compiled":
            release: dict[str, Any] = orjson.loads(group[0]["data"])
            release["id"] = f"{release['ocid']}-{release.get('date')}"
            return release
        items = [item for item in group if item["kind"] != "record"]
        releases = [orjson.loads(item["data"]) for item in items]
        try:
            if records:
                base = orjson.loads(records[-1]["data"])
                base_date = base.get("date") if isinstance(base.get("date"), str) else ""
                newer = [release for release in releases if release["date"] > base_date]
                return compile_releases(newer, base=base) if newer else base
            return compile_releases(releases)
        except MergeError as error:  # say which stored release could not be merged
            candidates = list(zip(items, releases, strict=True))
            if records:
                candidates.append((records[-1], base))
            for item, release in candidates:
                if release is error.release:
                    error.source = (item["source_file"], item.get("source_line"))
            raise

    @classmethod
    def flatten_group(
        cls, ocid: str, group: list[dict[str, Any]], dataset: str, run_id: str, rows: RowBuffer
    ) -> IssueLog | Reject:
        """Compile one process from its stored releases and add its rows to `rows`: the normalisations made, or
        why it cannot be compiled (then it leaves no rows)."""
        log = IssueLog()
        mark = rows.mark()
        try:
            release = cls.compile_group(group)
            flatten_release(release, dataset, group[-1]["source_file"], run_id, rows, log)
        except (MergeError, KeyError, TypeError, ValueError) as error:
            rows.rollback(mark)
            file, line = getattr(error, "source", None) or (group[-1]["source_file"], 0)
            reason = f"cannot compile process: {error}"
            return Reject(line or 0, getattr(error, "path", ""), reason, "", ocid, file)
        return log

    def compile_affected(self) -> None:
        """Compile every pending process of the dataset — this run's and any a killed run left — chunk by chunk,
        each chunk's rows, issues and rejects written and its pending rows removed in one transaction."""
        total = int(
            self.backend.query_value(
                f"SELECT count(DISTINCT ocid) FROM {PENDING_TABLE} WHERE dataset = ?", [self.dataset]
            )
            or 0
        )
        rows = RowBuffer()
        issues: list[tuple[Any, ...]] = []
        chunk_ocids: list[str] = []
        failed: list[tuple[str, str, Reject]] = []
        run_id = self.summary.run_id
        for ocid, group in self._source_groups():
            log = self.flatten_group(ocid, group, self.dataset, run_id, rows)
            if isinstance(log, Reject):
                failed.append((ocid, log.file or group[-1]["source_file"], log))
            else:
                chunk_ocids.append(ocid)
                for path, issue, value, normalised in log.issues:
                    issues.append((run_id, self.dataset, ocid, path, issue, value, normalised))
            if len(chunk_ocids) + len(failed) >= COMPILE_BATCH:
                self._write_chunk(chunk_ocids, rows, issues, failed)
                self.progress("compile", len(chunk_ocids) + len(failed), total)
                chunk_ocids.clear()
                rows.clear()
                issues.clear()
                failed.clear()
        if chunk_ocids or failed:
            self._write_chunk(chunk_ocids, rows, issues, failed)
            self.progress("compile", len(chunk_ocids) + len(failed), total)

    def _write_chunk(
        self,
        ocids: list[str],
        rows: RowBuffer,
        issues: list[tuple[Any, ...]],
        failed: list[tuple[str, str, Reject]],
    ) -> None:
        """Replace the rows of the chunk's compiled processes; a process that cannot be compiled gets a reject and
        keeps the rows it had (its releases are stored). One transaction, which also takes the chunk off the
        pending list."""
        backend = self.backend
        done = [*ocids, *(ocid for ocid, _file, _reject in failed)]
        compiled = pa.array([True] * len(ocids) + [False] * len(failed), pa.bool_())
        chunk = pa.table({"ocid": pa.array(done, pa.string()), "compiled": compiled})
        rejects = [
            (
                self.summary.run_id,
                self.dataset,
                file,
                reject.line,
                reject.ocid,
                reject.path,
                reject.value,
                reject.reason,
            )
            for _ocid, file, reject in failed
        ]
        with backend.transaction():
            with backend.registered("ingest_chunk", chunk):
                existed = backend.query_value(
                    "SELECT count(*) FROM processes p JOIN ingest_chunk c ON p.ocid = c.ocid "
                    "WHERE p.dataset = ? AND c.compiled",
                    [self.dataset],
                )
                if existed:
                    for table in (*CONTRACTING_TABLES, QUALITY_ISSUES):
                        backend.execute(
                            f"DELETE FROM {table.name} WHERE dataset = ? "
                            "AND ocid IN (SELECT ocid FROM ingest_chunk WHERE compiled)",
                            [self.dataset],
                        )
                backend.execute(
                    f"DELETE FROM {PENDING_TABLE} WHERE dataset = ? AND ocid IN (SELECT ocid FROM ingest_chunk)",
                    [self.dataset],
                )
            for name, data in rows.to_arrow().items():
                backend.append_arrow(name, data)
            backend.append_arrow(QUALITY_ISSUES.name, _table(_ISSUE_SCHEMA, issues))
            self._append_rejects(rejects)
        # Counted once written: a run killed before this point counts nothing it did not write.
        self.summary.processes_written += len(ocids)
        self.summary.processes_failed += len(failed)
        self.summary.quality_issues += len(issues)
        for issue in issues:
            self._issue_counts[issue[4]] += 1
        for _ocid, _file, reject in failed:
            self._reject_reasons[reject.reason.split(":")[0]] += 1

    # --- the whole run ---------------------------------------------------------------------------------
    def run(self, paths: list[str]) -> IngestSummary:
        started = time.perf_counter()
        started_at = datetime.now(UTC)
        self.backend.ensure_tables(ALL_TABLES)
        files = list(discover(paths, self.summary.skipped_files))
        limited = (
            contextlib.nullcontext()
            if self.memory_budget is None
            else self.backend.limited_memory(int(self.memory_budget * ENGINE_SHARE))
        )
        # One checkpoint at the end, not one every 16 MB of log: each rewrites the tables' newest row groups.
        with self.backend.bulk_load(), limited:
            self._run_steps(files)
        summary = self.summary
        summary.reject_reasons = dict(self._reject_reasons.most_common())
        summary.quality_issue_counts = dict(self._issue_counts.most_common())
        summary.duration_seconds = round(time.perf_counter() - started, 3)
        self._record_run(started_at)
        logger.info(
            "ingest %s: %d releases read, %d new, %d processes, %d rejected",
            summary.run_id,
            summary.releases_read,
            summary.new_releases,
            summary.processes_written,
            summary.rejected,
        )
        return summary

    def _recover_interrupted_runs(self) -> None:
        """Runs of this dataset that left rows but no ingest_runs row were killed: record each as interrupted.
        Their stored releases, rows and rejects stay; the processes they left pending are compiled by this run."""
        backend = self.backend
        backend.execute(f"DROP TABLE IF EXISTS {LEGACY_AFFECTED_TABLE}")
        backend.execute(f"CREATE TABLE IF NOT EXISTS {PENDING_TABLE} (dataset VARCHAR, ocid VARCHAR)")
        runs = backend.query(
            """
            SELECT DISTINCT run_id FROM (
                SELECT ingest_run_id AS run_id FROM source_releases WHERE dataset = ?
                UNION ALL SELECT ingest_run_id FROM processes WHERE dataset = ?
                UNION ALL SELECT run_id FROM ingest_rejects WHERE dataset = ?
            ) AS traces
            WHERE run_id NOT IN (SELECT run_id FROM ingest_runs)
            ORDER BY run_id""",
            [self.dataset] * 3,
        )
        if not runs:
            return
        self.summary.interrupted_runs = [run_id for (run_id,) in runs]
        self.summary.processes_recovered = int(
            backend.query_value(f"SELECT count(DISTINCT ocid) FROM {PENDING_TABLE} WHERE dataset = ?", [self.dataset])
            or 0
        )
        records = [
            (run_id, self.dataset, _run_started(run_id), None, None, __version__, None, None, None, None, None, None,
             None, orjson.dumps({"run_id": run_id, "dataset": self.dataset, "status": "interrupted",
                                 "recovered_by": self.summary.run_id}).decode())
            for run_id in self.summary.interrupted_runs
        ]  # fmt: skip
        backend.append_arrow(INGEST_RUNS.name, _table(arrow_schema(INGEST_RUNS), records))
        logger.warning(
            "ingest runs %s of dataset %s were interrupted; %d processes left to compile are compiled now",
            ", ".join(self.summary.interrupted_runs),
            self.dataset,
            self.summary.processes_recovered,
        )

    def _run_steps(self, files: list[InputFile]) -> None:
        """Read every input, store the new releases, compile the processes they touch."""
        self._recover_interrupted_runs()
        try:
            for input_file in files:
                self.read_file(input_file)
            self._flush_staged()
            self._flush_rejects()
            self.summary.duplicate_releases = self.summary.releases_read - self.summary.new_releases
            self.compile_affected()
            self._flush_rejects()
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None

    def _record_run(self, started_at: datetime) -> None:
        """The run's files and its row in one transaction, with the ledger entry it is owed: killed before, the
        run has no row (the next run records it as interrupted); after, the next command settles the entry."""
        pending.ensure(self.backend)  # DDL stays out of the transaction
        with self.backend.transaction():
            self._append_run_rows(started_at)
            if self.ledger is not None:
                log, entry = self.ledger
                pending.owe(self.backend, log, "ingest_run", self.summary.run_id, entry(self.summary))

    def _append_run_rows(self, started_at: datetime) -> None:
        s = self.summary
        self.backend.append_arrow(
            INGEST_FILES.name,
            _table(
                arrow_schema(INGEST_FILES),
                [
                    (
                        s.run_id,
                        s.dataset,
                        f.path,
                        f.sha256,
                        f.bytes,
                        f.format,
                        f.objects_read,
                        f.releases_read,
                        f.rejected,
                        f.blank,
                    )
                    for f in s.files
                ],
            ),
        )
        self.backend.append_arrow(
            INGEST_RUNS.name,
            _table(
                arrow_schema(INGEST_RUNS),
                [
                    (
                        s.run_id,
                        s.dataset,
                        started_at.isoformat(),
                        datetime.now(UTC).isoformat(),
                        s.duration_seconds,
                        __version__,
                        s.objects_read,
                        s.releases_read,
                        s.new_releases,
                        s.processes_written,
                        s.rejected,
                        s.blank,
                        s.quality_issues,
                        orjson.dumps(s.to_dict()).decode(),
                    )
                ],
            ),
        )


def exit_with_parent(parent: int) -> None:
    """In a worker process: end it soon after the ingest that started it dies (killed, it cannot say so), instead
    of letting it digest its chunk for minutes with nobody to take the result."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _run_started(run_id: str) -> str | None:
    """The start of a run, to the second, from its id ("ingest-20261207T031500-ab12cd")."""
    try:
        return datetime.strptime(run_id.split("-")[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC).isoformat()
    except (IndexError, ValueError):
        return None


def _blocks(lines: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    """Lines in blocks of about `size` bytes; if reading breaks off, the lines read so far come first."""
    block: list[bytes] = []
    total = 0
    try:
        for line in lines:
            block.append(line)
            total += len(line)
            if total >= size:
                yield block
                block, total = [], 0
    except (OSError, EOFError):
        if block:
            yield block
        raise
    if block:
        yield block


def ingest_ocds(
    backend: Backend,
    paths: list[str],
    dataset: str = "default",
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    compiled: bool = False,
    ledger: tuple[str, Callable[[IngestSummary], str]] | None = None,
    memory_budget: int | None = None,
) -> IngestSummary:
    """Ingest OCDS files (releases, records, packages, JSON Lines; plain, .gz or .zip) into the warehouse.

    `workers` processes digest large JSON Lines inputs in parallel (default: one per CPU). `compiled` treats
    every release as a compiled release even without the "compiled" tag (no date needed, no merging). With
    `ledger` (a log name and the entry for a summary), the entry the ledger is owed is recorded with the run's
    row (`clearsight.engine.pending`); the caller appends it and clears the record. `memory_budget` (bytes) bounds
    the whole run, worker processes included: the engine gets a share of it and batches are sized to it.
    """
    run: OcdsIngest
    if backend.dialect.distributed:
        from clearsight.ingest.spark_pipeline import SparkOcdsIngest

        run = SparkOcdsIngest(backend, dataset, progress, workers, compiled)
    else:
        run = OcdsIngest(backend, dataset, progress, workers, compiled)
    run.ledger = ledger
    run.memory_budget = memory_budget
    return run.run(paths)
