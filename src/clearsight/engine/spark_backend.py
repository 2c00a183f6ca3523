"""Apache Spark behind the `Backend` interface: the same DuckDB-dialect SQL, translated in one place.

A warehouse is a folder: one Spark database whose tables are Parquet under `FOLDER/TABLE`, re-registered by the
next process that opens the folder. `local[*]` runs on this machine with PySpark from PyPI; a `spark://…` (or
`yarn`, `k8s://…`) master runs on a cluster, where the folder must be on storage every executor sees. SQL
reaches Spark through `clearsight.engine.spark_dialect.to_spark`; parameters are Spark's positional `?` markers.
Arrow carries data both ways.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from clearsight.engine.base import Backend, Dialect, EngineError
from clearsight.engine.spark_dialect import STATEMENT_SEPARATOR, to_spark
from clearsight.model import ALL_TABLES, Table, create_table_sql

SPARK_DIALECT = Dialect(
    name="spark", sqlglot_name="spark", transactions=False, deletes=False, distributed=True, row_scale=False
)


# Per-session settings: DuckDB's semantics where Spark's defaults differ.
SESSION_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",  # DuckDB returns NULL, not an error, for a failed try_ cast
    "spark.sql.legacy.sizeOfNull": "false",  # size(NULL) is NULL, as DuckDB's len(NULL)
}


def _similarity_jar() -> str:
    """Splink's jar of string similarity functions (Jaro-Winkler, Damerau-Levenshtein) that linkage on Spark calls;
    it must be on the classpath when the SparkContext starts."""
    from splink.internals.spark.jar_location import similarity_jar_location

    return str(similarity_jar_location())


def strip_accents(text: str | None) -> str | None:
    """DuckDB's strip_accents, for Spark's executors: 'Łódź São' → 'Łodz Sao'."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))


class SparkBackend(Backend):
    """A Spark session on a warehouse folder (created when missing) holding the canonical tables as Parquet."""

    dialect = SPARK_DIALECT
    _open = 0  # backends open in this process: the last one to close stops Spark

    def __init__(
        self,
        warehouse: str | Path,
        *,
        master: str = "local[*]",
        memory: str = "2g",
        shuffle_partitions: int = 8,
        app_name: str = "clearsight",
        config: dict[str, str] | None = None,
    ) -> None:
        from pyspark.sql import SparkSession

        # Executors run clearsight's Python (ingest): this interpreter unless PYSPARK_PYTHON names another (a
        # cluster's, with clearsight installed).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        self.path = str(Path(warehouse).resolve())
        Path(self.path).mkdir(parents=True, exist_ok=True)
        shared = (
            SparkSession.builder.master(master)
            .appName(app_name)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", memory)
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.jars", _similarity_jar())
            .config(map=dict(config or {}))  # the user's settings last: executors' memory and cores, shuffle, ...
            .getOrCreate()
        )
        # One JVM and SparkContext per process; each warehouse gets its own session (settings, temporary views)
        # and its own database whose tables live under the warehouse folder.
        self.session = shared.newSession()
        SparkBackend._open += 1
        for key, value in SESSION_SETTINGS.items():
            self.session.conf.set(key, value)
        for key, value in (config or {}).items():  # SQL settings hold even where the SparkContext was already up
            if key.startswith("spark.sql."):
                self.session.conf.set(key, value)
        # Failures reach the caller as EngineError with the SQL; Spark's own logging of them would repeat them.
        self.session.sparkContext.setLogLevel("OFF")
        # Splink's string similarity functions (jaro_winkler, damerau_levenshtein, ...) for this session's SQL.
        from splink.internals.spark.jar_location import get_scala_udfs

        for name, java_class, returns in get_scala_udfs():  # type: ignore[no-untyped-call]
            self.session.udf.registerJavaFunction(name, java_class, returns)
        # DuckDB's strip_accents (decompose, drop the combining marks, compose again): Spark has none.
        from pyspark.sql.functions import udf

        self.session.udf.register("strip_accents", udf(strip_accents, "string", useArrow=True))
        logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
        self.database = "clearsight_" + hashlib.sha1(self.path.encode()).hexdigest()[:12]
        location = self.path.replace("'", "''")
        self.session.sql(f"CREATE DATABASE IF NOT EXISTS {self.database} LOCATION '{location}'")
        self.session.sql(f"USE {self.database}")
        # Register the tables an earlier process wrote (Spark's default catalog lives only as long as the JVM).
        self.ensure_tables(ALL_TABLES)
        # Temporary tables are Parquet folders of this database that their makers drop; one left by a process that
        # died would stop the next CREATE of that name. One writer at a time per warehouse (as with a DuckDB file).
        registered = self._table_names()
        for child in Path(self.path).iterdir():
            stale = child.name.startswith("_") and child.name not in ("_ingest", "_linkage", *registered)
            if stale and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)

    def _wrap_error(self, error: Exception, sql: str) -> EngineError:
        message = getattr(error, "getMessage", None)
        text = message() if callable(message) else str(error)
        return EngineError(f"spark: {text or type(error).__name__}", sql)

    def fork(self) -> SparkBackend:
        return self  # one session serves every caller; Spark schedules concurrent jobs itself

    def _prepare_sql(self, sql: str) -> str:
        return to_spark(sql, self.path)

    def _run(self, sql: str, params: Sequence[Any] | None) -> Any:
        # Spark binds Python values (str, numbers, datetime, None) to its positional `?` markers. One DuckDB
        # statement may have become several: all but the last are run here.
        *before, last = sql.split(STATEMENT_SEPARATOR)
        for statement in before:
            self.session.sql(statement).collect()
        return self.session.sql(last, args=list(params)) if params else self.session.sql(last)

    def _execute(self, sql: str, params: Sequence[Any] | None) -> None:
        self._run(sql, params).collect()

    def _query_rows(self, sql: str, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._run(sql, params).collect()]

    def _query_arrow(self, sql: str, params: Sequence[Any] | None) -> pa.Table:
        table: pa.Table = self._run(sql, params).toArrow()
        return table

    def _query_batches(self, sql: str, params: Sequence[Any] | None, batch_size: int) -> Iterator[pa.RecordBatch]:
        return iter(self._query_arrow(sql, params).to_batches(batch_size))

    def _register_arrow(self, name: str, data: pa.Table) -> None:
        self.session.createDataFrame(data).createOrReplaceTempView(name)

    def _unregister(self, name: str) -> None:
        self.session.catalog.dropTempView(name)

    def append_parquet(self, table_name: str, folder: Path, columns: Sequence[str]) -> None:
        """Spark's executors read the files (no rows pass through the driver); Spark SQL as is, untranslated."""
        column_list = ", ".join(columns)
        location = str(folder.resolve()).replace("`", "``")
        sql = f"INSERT INTO {table_name} ({column_list}) SELECT {column_list} FROM parquet.`{location}`"
        try:
            self.session.sql(sql).collect()
        except Exception as error:
            raise self._wrap_error(error, sql) from error

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        """Create (or register again) the tables as Parquet folders, split by their `partition_by` columns.

        A partitioned table registered over folders an earlier process wrote learns its partitions from them
        (`RECOVER PARTITIONS`: Spark's catalog does not list the folders itself)."""
        known = self._table_names()
        for table in tables:
            if table.name in known:
                continue  # registered by this process with this schema: nothing to create or recover
            sql = to_spark(create_table_sql(table), self.path, table.partition_by)
            Path(self.path, table.name).mkdir(exist_ok=True)  # RECOVER PARTITIONS needs the folder, even empty
            try:
                self.session.sql(sql).collect()
                if table.partition_by:
                    self.session.sql(f"ALTER TABLE {table.name} RECOVER PARTITIONS").collect()
            except Exception as error:
                raise self._wrap_error(error, sql) from error

    def delete_dataset(self, table: Table, dataset: str) -> None:
        """No DELETE on Parquet tables: the dataset's partition is overwritten with no rows (its files go)."""
        if "dataset" not in table.partition_by:
            raise EngineError(f"spark: {table.name} is not partitioned by dataset; its rows cannot be removed", "")
        empty = ", ".join(
            f"CAST(NULL AS {column.type}) AS {column.name}" for column in table.columns if column.name != "dataset"
        )
        select = to_spark(f"SELECT * FROM (SELECT {empty}) AS empty WHERE 1 = 0")
        sql = f"INSERT OVERWRITE {table.name} PARTITION (dataset = ?) {select}"
        try:
            self.session.sql(sql, args=[dataset]).collect()
        except Exception as error:
            raise self._wrap_error(error, sql) from error

    def _table_names(self) -> set[str]:
        # SHOW TABLES reads names only; catalog.listTables also fetches every table's metadata (slow).
        rows = self.session.sql(f"SHOW TABLES IN {self.database}").collect()
        return {row["tableName"] for row in rows if not row["isTemporary"]}

    def close(self) -> None:
        SparkBackend._open -= 1
        if SparkBackend._open == 0:
            self.session.stop()
