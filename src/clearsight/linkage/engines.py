"""Where the linkage model runs: DuckDB in-process (default) or Apache Spark, each with its Splink database API.

`model.link` writes its own SQL once, in DuckDB's dialect (comparison levels, the second pass, the explanation of
each pair); a `LinkEngine` runs it on its engine — Spark through the same translation as the warehouse
(`clearsight.engine.spark_dialect.to_spark`) — and gives Splink the matching database API. Every engine
difference the linkage has lives here.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink.internals.database_api import DatabaseAPI


class LinkEngine(ABC):
    """The engine the linkage model runs on: runs SQL written in DuckDB's dialect and gives Splink its API."""

    base_dialect = "duckdb"  # the dialect comparison levels are handed to Splink in

    @abstractmethod
    def api(self) -> DatabaseAPI[Any]: ...

    @abstractmethod
    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def arrow(self, sql: str) -> pa.Table: ...

    @abstractmethod
    def columns(self, table: str) -> list[str]: ...

    @abstractmethod
    def materialise(self, name: str, select: str) -> None:
        """Make `name` a table (or cached view) holding the rows of `select`."""

    @abstractmethod
    def drop(self, name: str) -> None: ...

    @abstractmethod
    def adopt(self, connection: duckdb.DuckDBPyConnection, table: str) -> None:
        """Take over table `table` (prepared records) of the scratch DuckDB connection `link_registries` prepares
        in, under the same name; the scratch connection does not need it afterwards."""

    def level(self, condition: str) -> str:
        """A comparison level's condition, in `base_dialect`."""
        return condition

    def close(self) -> None:
        """Remove what the engine kept on disk for the linkages it ran (nothing, unless it says otherwise)."""
        return None

    @abstractmethod
    def configure(self, threads: int | None, memory_limit: str | None) -> None:
        """Bound the engine's threads and memory where it is configured per call."""


class DuckDBLinks(LinkEngine):
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def configure(self, threads: int | None, memory_limit: str | None) -> None:
        if threads:
            self.connection.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.connection.execute(f"SET memory_limit = '{memory_limit}'")

    def adopt(self, connection: duckdb.DuckDBPyConnection, table: str) -> None:
        pass  # the scratch connection is this engine's own: the table is already where the model reads it

    def api(self) -> DatabaseAPI[Any]:
        from splink.internals.duckdb.database_api import DuckDBAPI

        return DuckDBAPI(self.connection)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql).fetchall()

    def arrow(self, sql: str) -> pa.Table:
        return self.connection.sql(sql).to_arrow_table()

    def columns(self, table: str) -> list[str]:
        return [row[0] for row in self.connection.execute(f"DESCRIBE {table}").fetchall()]

    def materialise(self, name: str, select: str) -> None:
        self.connection.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")

    def drop(self, name: str) -> None:
        self.connection.execute(f"DROP TABLE IF EXISTS {name}")


class SparkLinks(LinkEngine):
    """Splink's Spark backend on a session whose SparkContext has Splink's similarity jar (SparkBackend adds it):
    the jar's `jaro_winkler` and `damerau_levenshtein` are what the comparison levels call there."""

    base_dialect = "spark"

    def __init__(self, session: Any, scratch: str) -> None:
        self.session = session
        # Splink writes its intermediate tables as Parquet under the SparkContext's checkpoint folder: on a
        # cluster it must be storage every executor sees, like the warehouse folder `scratch` is inside.
        context = session.sparkContext
        if context.getCheckpointDir() is None:
            context.setCheckpointDir(scratch)
        self.scratch = Path(scratch)

    def close(self) -> None:
        # Splink's intermediate tables are Parquet folders named __splink__… in the checkpoint folder (Spark puts
        # the context's own checkpoints in a folder of its own there); they outlive Splink's table cleanup.
        if self.scratch.is_dir():
            for folder in self.scratch.glob("__splink__*"):
                shutil.rmtree(folder, ignore_errors=True)

    def _spark(self, sql: str) -> str:
        from clearsight.engine.spark_dialect import to_spark

        return to_spark(sql)

    def api(self) -> DatabaseAPI[Any]:
        from splink.internals.spark.database_api import SparkAPI

        return SparkAPI(spark_session=self.session)  # type: ignore[no-untyped-call]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.session.sql(self._spark(sql)).collect()]

    def arrow(self, sql: str) -> pa.Table:
        table: pa.Table = self.session.sql(self._spark(sql)).toArrow()
        return table

    def columns(self, table: str) -> list[str]:
        return list(self.session.table(table).columns)

    def materialise(self, name: str, select: str) -> None:
        # Cut the plan's lineage, as Splink does between its own steps, so that later queries do not recompute it.
        self.session.sql(self._spark(select)).localCheckpoint().createOrReplaceTempView(name)

    def drop(self, name: str) -> None:
        self.session.catalog.dropTempView(name)

    def configure(self, threads: int | None, memory_limit: str | None) -> None:
        pass  # a Spark application's cores and memory are set when it starts (--spark-master, the driver memory)

    def adopt(self, connection: duckdb.DuckDBPyConnection, table: str) -> None:
        rows = connection.sql(f"SELECT * FROM {table}").to_arrow_table()
        self.session.createDataFrame(rows).localCheckpoint().createOrReplaceTempView(table)
        connection.execute(f"DROP TABLE {table}")  # Spark holds it now

    def level(self, condition: str) -> str:
        return self._spark(f"SELECT {condition}").removeprefix("SELECT ")
