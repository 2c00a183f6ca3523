"""The Backend interface: the one place where clearsight talks to an analytical engine."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from clearsight.engine.errors import EngineError as EngineError
from clearsight.model import TABLES_BY_NAME, Table, create_table_sql

_T = TypeVar("_T")


def storage_types(batch: pa.RecordBatch) -> pa.Table:
    """A batch with extension types (DuckDB's JSON) as their storage type, which every engine reads."""
    columns = [
        column.storage if isinstance(column.type, pa.ExtensionType) else column
        for column in pa.Table.from_batches([batch]).columns
    ]
    return pa.Table.from_arrays(columns, names=batch.schema.names)


# A cell starting with one of these is run as a formula by spreadsheets (OWASP: CSV injection); in CSV files meant
# for people, such text gets a leading apostrophe, which spreadsheets show as text and do not display.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe_sql(sql: str, columns: Sequence[tuple[str, bool]]) -> str:
    """The query with every text column (`(name, is_text)`) made safe to open in a spreadsheet."""
    starts = ", ".join(sql_literal(start) for start in FORMULA_STARTS)
    selected = ", ".join(
        f"CASE WHEN left(CAST(\"{name}\" AS VARCHAR), 1) IN ({starts}) THEN '''' || CAST(\"{name}\" AS VARCHAR) "
        f'ELSE CAST("{name}" AS VARCHAR) END AS "{name}"'
        if is_text
        else f'"{name}"'
        for name, is_text in columns
    )
    return f"SELECT {selected} FROM ({sql}) AS unsafe"


def is_text_type(data_type: pa.DataType) -> bool:
    storage = data_type.storage_type if isinstance(data_type, pa.ExtensionType) else data_type
    return bool(pa.types.is_string(storage) or pa.types.is_large_string(storage))


def sql_literal(value: Any) -> str:
    """A Python value as a DuckDB SQL literal (parameters are typed, so this covers what they can be)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            return "[]::VARCHAR[]"
        return "[" + ", ".join(sql_literal(item) for item in items) + "]"
    raise TypeError(f"no SQL literal for {value!r}")


@dataclass(frozen=True)
class Dialect:
    """What differs between engines, as data rather than `if engine == ...` branches."""

    name: str
    sqlglot_name: str
    # Whether BEGIN/COMMIT/ROLLBACK exist (Spark's Parquet tables have none: each statement commits on its own).
    transactions: bool = True
    # Whether DELETE exists (not on Spark's Parquet tables): where it does not, superseded runs stay and readers
    # take the latest.
    deletes: bool = True
    # Whether the engine runs clearsight's Python on workers of its own (Spark's executors): ingest then reads,
    # compiles and writes there (`clearsight.ingest.spark_pipeline`) instead of in this process.
    distributed: bool = False
    # Whether ROUND's scale may be computed per row (Spark's must be a constant): where it cannot, stored flag
    # values are not rounded to significant digits (`flags.runner._significant`).
    row_scale: bool = True


DUCKDB_DIALECT = Dialect(name="duckdb", sqlglot_name="duckdb")


class Backend(ABC):
    """An analytical engine holding the warehouse tables.

    SQL given to a backend is written in DuckDB's dialect; backends for other engines translate it in
    `_prepare_sql`. Public methods are shared by every backend; a backend implements only the hooks.
    """

    dialect: Dialect
    path: str  # the warehouse: a database file, a folder, ":memory:"

    # --- hooks each backend implements -------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] | None) -> None: ...

    @abstractmethod
    def _query_rows(self, sql: str, params: Sequence[Any] | None) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _query_arrow(self, sql: str, params: Sequence[Any] | None) -> pa.Table: ...

    @abstractmethod
    def _query_batches(self, sql: str, params: Sequence[Any] | None, batch_size: int) -> Iterator[pa.RecordBatch]: ...

    @abstractmethod
    def _register_arrow(self, name: str, data: pa.Table) -> None: ...

    @abstractmethod
    def _unregister(self, name: str) -> None: ...

    @abstractmethod
    def _table_names(self) -> set[str]: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def fork(self) -> Backend:
        """Another handle on the same warehouse, for reading while this one writes."""

    def _prepare_sql(self, sql: str) -> str:
        """Translate DuckDB-dialect SQL for this engine (identity for DuckDB)."""
        return sql

    def _wrap_error(self, error: Exception, sql: str) -> EngineError:
        return EngineError(f"{self.dialect.name}: {error}", sql)

    # --- shared execution methods --------------------------------------------------------------------
    def _checked(self, hook: Callable[..., _T], sql: str, *args: Any) -> _T:
        prepared = self._prepare_sql(sql)
        try:
            return hook(prepared, *args)
        except EngineError:
            raise
        except Exception as error:  # engines raise their own hierarchies; wrap them all with the SQL
            raise self._wrap_error(error, prepared) from error

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement that returns nothing of interest."""
        self._checked(self._execute, sql, params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples."""
        return self._checked(self._query_rows, sql, params)

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dictionaries."""
        rows: list[dict[str, Any]] = self.query_arrow(sql, params).to_pylist()
        return rows

    def query_value(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query returning one value."""
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""
        return self._checked(self._query_arrow, sql, params)

    def iter_batches(
        self, sql: str, params: Sequence[Any] | None = None, batch_size: int = 10_000
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query's result in Arrow record batches (bounded memory)."""
        batches = self._checked(self._query_batches, sql, params, batch_size)
        prepared = self._prepare_sql(sql)
        try:
            yield from batches
        except Exception as error:
            raise self._wrap_error(error, prepared) from error

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        """Create the given canonical tables where they are missing."""
        for table in tables:
            self.execute(create_table_sql(table))

    def has_table(self, name: str) -> bool:
        return name in self._table_names()

    def append_arrow(self, table_name: str, data: pa.Table, columns: Sequence[str] | None = None) -> None:
        """Bulk-append an Arrow table to a warehouse table (columns matched by name)."""
        if data.num_rows == 0:
            return
        view = f"_clearsight_append_{table_name}"
        names = list(columns or data.column_names)
        # Timestamps often arrive as ISO 8601 text: cast explicitly (DuckDB would, Spark refuses to implicitly).
        table = TABLES_BY_NAME.get(table_name)
        types = {column.name: column.type for column in table.columns} if table else {}
        selected = ", ".join(
            f"CAST({name} AS TIMESTAMPTZ) AS {name}" if types.get(name) == "TIMESTAMPTZ" else name for name in names
        )
        self._register_arrow(view, data)
        try:
            column_list = ", ".join(names)
            self.execute(f"INSERT INTO {table_name} ({column_list}) SELECT {selected} FROM {view}")
        finally:
            self._unregister(view)

    def delete_dataset(self, table: Table, dataset: str) -> None:
        """Remove a dataset's rows from a table (before it is built again)."""
        self.execute(f"DELETE FROM {table.name} WHERE dataset = ?", [dataset])

    @contextlib.contextmanager
    def registered(self, name: str, data: pa.Table) -> Iterator[str]:
        """Make an Arrow table queryable under `name` for the duration of a block."""
        self._register_arrow(name, data)
        try:
            yield name
        finally:
            self._unregister(name)

    def export_parquet(self, sql: str, folder: Path) -> int:
        """Write a query's rows as Parquet files into `folder` (made if missing); returns the number of rows.

        Engines that write Parquet themselves override this (several files at once); here, one file.
        """
        folder.mkdir(parents=True, exist_ok=True)
        return self.export_file(sql, folder / "part-0.parquet", "parquet")

    def spreadsheet_safe(self, sql: str, params: Sequence[Any] | None = None) -> str:
        """The query with its text columns safe to open in a spreadsheet (CSV exports for people)."""
        schema = self.query_arrow(f"SELECT * FROM ({sql}) AS q LIMIT 0", params).schema
        return spreadsheet_safe_sql(sql, [(field.name, is_text_type(field.type)) for field in schema])

    def export_file(self, sql: str, out: Path, file_format: str, json_columns: Sequence[str] = ()) -> int:
        """Write a query's rows to one file: `csv` (with a header), `parquet` or `json` (an array of objects, the
        text of `json_columns` nested as values); returns the number of rows. Engines with writers of their own
        override this; here the rows pass through Arrow, batch by batch."""
        if file_format not in ("csv", "parquet", "json"):
            raise ValueError(f"unknown file format {file_format!r}")
        if file_format == "csv":
            sql = self.spreadsheet_safe(sql)
        rows = 0
        writer: Any = None
        with open(out, "wb") as handle:
            if file_format == "json":
                handle.write(b"[")
            for batch in self.iter_batches(sql, batch_size=50_000):
                plain = storage_types(batch)
                if file_format == "json":
                    for record in plain.to_pylist():
                        for name in json_columns:
                            if record.get(name) is not None:
                                record[name] = orjson.Fragment(record[name])
                        handle.write((b",\n" if rows else b"\n") + orjson.dumps(record, default=str))
                        rows += 1
                    continue
                if writer is None:
                    writer = (
                        pq.ParquetWriter(handle, plain.schema)
                        if file_format == "parquet"
                        else pacsv.CSVWriter(handle, plain.schema)
                    )
                writer.write_table(plain)
                rows += plain.num_rows
            if writer is not None:
                writer.close()
            if file_format == "json":
                handle.write(b"\n]\n")
        return rows

    def append_parquet(self, table_name: str, folder: Path, columns: Sequence[str]) -> None:
        """Append the Parquet files of `folder` (their `columns`) to a table.

        Engines that read Parquet themselves override this; here the rows pass through Arrow, batch by batch.
        """
        for batch in ds.dataset(folder, format="parquet").to_batches(columns=list(columns), batch_size=200_000):
            if batch.num_rows:
                self.append_arrow(table_name, pa.Table.from_batches([batch]), columns)

    @contextlib.contextmanager
    def limited_memory(self, size_bytes: int) -> Iterator[None]:
        """A block in which the engine keeps within `size_bytes` (engines that take the limit per session do; on
        the others the limit they were started with holds)."""
        yield

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """A block that appends much in many statements: engines that can defer their housekeeping to its end do."""
        yield

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block atomically (on engines without transactions, statement by statement)."""
        if not self.dialect.transactions:
            yield
            return
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
