"""The default backend: one embedded DuckDB file."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from clearsight.engine import DEFAULT_DATABASE
from clearsight.engine.base import DUCKDB_DIALECT, Backend
from clearsight.engine.errors import WarehouseBusy
from clearsight.model import Table, create_table_sql

BULK_CHECKPOINT = "1GB"  # write-ahead log a bulk load may grow before DuckDB checkpoints (default 16 MB)
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
# Global options of the `clearsight` command that take a value (skipped when naming what a process is doing).
_VALUED_OPTIONS = {"--db", "--ledger", "--memory-limit", "--engine", "--spark-master", "--spark-conf", "--wait"}


def describe_process(pid: int, program: str = "") -> str:
    """What a process is, for a person: "`clearsight serve` (pid 123)", or its program when it is not ours."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        argv = []
    for position, part in enumerate(argv):
        if part.endswith("clearsight") or part in {"clearsight.cli", "clearsight.__main__"}:
            words, skip = [], False
            for word in argv[position + 1 :]:
                if skip:
                    skip = False
                elif word.startswith("-"):
                    skip = word in _VALUED_OPTIONS
                else:
                    words.append(word)
                if len(words) == 2:
                    break
            return f"`clearsight {' '.join(words)}`".replace(" `", "`") + f" (pid {pid})"
    return f"{program or (argv[0] if argv else 'another program')} (pid {pid})"


def lock_holder(message: str) -> str | None:
    """Who holds the file, from DuckDB's lock error; None when the error is not about a lock."""
    match = _LOCK_HOLDER.search(message)
    return describe_process(int(match["pid"]), match["program"]) if match else None


def connect_waiting(
    path: str,
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
    wait: float = 0.0,
    on_wait: Callable[[WarehouseBusy], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Connect to a DuckDB file; while another process holds it, retry for up to `wait` seconds (calling `on_wait`
    once, to say so), then raise `WarehouseBusy` naming the holder. Other errors are DuckDB's own."""
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config or {})
        except duckdb.IOException as error:
            holder = lock_holder(str(error))
            if holder is None:
                raise
            busy = WarehouseBusy(path, holder, read_only=read_only)
            if time.monotonic() >= deadline:
                raise busy from error
            if on_wait is not None and not told:
                on_wait(busy)
                told = True
            time.sleep(0.25)


class DuckDBBackend(Backend):
    """DuckDB, in-process. `path=":memory:"` keeps everything in memory (tests)."""

    dialect = DUCKDB_DIALECT

    def __init__(
        self,
        path: str | Path = DEFAULT_DATABASE,
        *,
        memory_limit: str | None = "2GB",
        threads: int | None = None,
        read_only: bool = False,
        wait: float = 0.0,
        on_wait: Callable[[WarehouseBusy], None] | None = None,
    ) -> None:
        """`read_only` shares the file with other readers. When another process holds the file, wait up to
        `wait` seconds for it (calling `on_wait` once, to say so), then raise `WarehouseBusy` naming it."""
        self.path = str(path)
        self.read_only = read_only
        self.memory_limit = memory_limit  # as configured, so that `limited_memory` restores it exactly
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        if read_only and self.path != ":memory:" and not Path(self.path).exists():
            raise FileNotFoundError(f"no warehouse at {self.path}: ingest data first (clearsight ingest ocds PATH)")
        try:
            self.connection = connect_waiting(self.path, read_only=read_only, config=config, wait=wait, on_wait=on_wait)
        except duckdb.Error as error:
            raise self._wrap_error(error, f"-- connect to {self.path}") from error
        self.connection.execute("SET TimeZone = 'UTC'")

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        """Read-only, a missing table is an empty temporary one, so that a reader of an older or partial warehouse
        sees what a writer would have created. A writer adds the canonical columns a table made by an older
        version lacks (appended, NULL in the rows already stored): columns are only ever added, never changed."""
        if not self.read_only:
            super().ensure_tables(tables)
            names = [table.name for table in tables]
            columns: dict[str, set[str]] = {}
            for table_name, column_name in self.connection.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name IN (SELECT unnest(?))",
                [names],
            ).fetchall():
                columns.setdefault(table_name, set()).add(column_name)
            for table in tables:
                for column in table.columns:
                    if column.name not in columns.get(table.name, {column.name}):
                        self.execute(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type}")
            return
        present = self._table_names()
        for table in tables:
            if table.name not in present:
                self.execute(create_table_sql(table).replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE", 1))

    @classmethod
    def _from_connection(cls, path: str, connection: duckdb.DuckDBPyConnection) -> DuckDBBackend:
        backend = cls.__new__(cls)
        backend.path = path
        backend.read_only = False
        backend.memory_limit = None
        backend.connection = connection
        return backend

    @contextlib.contextmanager
    def limited_memory(self, size_bytes: int) -> Iterator[None]:
        """Another memory limit (at least 64 MiB) for a block; the configured one is restored after it."""
        self.connection.execute(f"SET memory_limit = '{max(int(size_bytes), 64 << 20)}B'")
        try:
            yield
        finally:
            if self.memory_limit:
                self.connection.execute("SET memory_limit = ?", [self.memory_limit])
            else:
                self.connection.execute("RESET memory_limit")

    def fork(self) -> DuckDBBackend:
        forked = self._from_connection(self.path, self.connection.cursor())
        forked.read_only = self.read_only
        forked.memory_limit = self.memory_limit
        forked.connection.execute("SET TimeZone = 'UTC'")
        return forked

    def export_parquet(self, sql: str, folder: Path) -> int:
        """DuckDB writes the Parquet itself, one file per thread (no rows pass through Python)."""
        folder.mkdir(parents=True, exist_ok=True)
        target = str(folder).replace("'", "''")
        rows = self._checked(
            self._query_rows, f"COPY ({sql}) TO '{target}' (FORMAT parquet, PER_THREAD_OUTPUT true, OVERWRITE)", None
        )
        return int(rows[0][0]) if rows else 0

    def export_file(self, sql: str, out: Path, file_format: str, json_columns: Sequence[str] = ()) -> int:
        """DuckDB's own writers (COPY; JSON columns are typed, so they nest by themselves)."""
        options = {"csv": "FORMAT CSV, HEADER TRUE", "parquet": "FORMAT PARQUET", "json": "FORMAT JSON, ARRAY TRUE"}
        if file_format not in options:
            raise ValueError(f"unknown file format {file_format!r}")
        if file_format == "csv":
            sql = self.spreadsheet_safe(sql)
        target = str(out).replace("'", "''")
        rows = self._checked(self._query_rows, f"COPY ({sql}) TO '{target}' ({options[file_format]})", None)
        return int(rows[0][0]) if rows else 0

    def append_parquet(self, table_name: str, folder: Path, columns: Sequence[str]) -> None:
        column_list = ", ".join(columns)
        files = str(folder / "*.parquet").replace("'", "''")
        self.execute(f"INSERT INTO {table_name} ({column_list}) SELECT {column_list} FROM read_parquet('{files}')")

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Checkpoint once at the end instead of every 16 MB of log: each automatic checkpoint compresses and
        rewrites the table's newest row groups again (measured: 1M registry records load in half the time)."""
        threshold = self.query_value("SELECT current_setting('checkpoint_threshold')")
        self.execute(f"SET checkpoint_threshold = '{BULK_CHECKPOINT}'")
        try:
            yield
        finally:
            self.execute(f"SET checkpoint_threshold = '{threshold}'")
        if self.path != ":memory:":
            self.execute("CHECKPOINT")

    def _execute(self, sql: str, params: Sequence[Any] | None) -> None:
        self.connection.execute(sql, list(params) if params is not None else None)

    def _query_rows(self, sql: str, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params) if params is not None else None).fetchall()

    def _query_arrow(self, sql: str, params: Sequence[Any] | None) -> pa.Table:
        return self.connection.sql(sql, params=list(params) if params is not None else None).to_arrow_table()

    def _query_batches(self, sql: str, params: Sequence[Any] | None, batch_size: int) -> Iterator[pa.RecordBatch]:
        relation = self.connection.sql(sql, params=list(params) if params is not None else None)
        return iter(relation.to_arrow_reader(batch_size))

    def _register_arrow(self, name: str, data: pa.Table) -> None:
        self.connection.register(name, data)

    def _unregister(self, name: str) -> None:
        self.connection.unregister(name)

    def _table_names(self) -> set[str]:
        rows = self.connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
        return {row[0] for row in rows}

    def close(self) -> None:
        self.connection.close()
