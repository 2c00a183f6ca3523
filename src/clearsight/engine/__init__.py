"""Engines behind one `Backend` interface: DuckDB by default; SQL is written once in DuckDB's dialect."""

from clearsight.engine.base import DUCKDB_DIALECT, Backend, Dialect, EngineError
from clearsight.engine.duckdb_backend import DEFAULT_DATABASE, DuckDBBackend

ENGINES = ("duckdb", "spark")


def open_backend(database: str = DEFAULT_DATABASE, engine: str = "duckdb", **options: object) -> Backend:
    """Open the warehouse on the named engine: a DuckDB file, or a Spark warehouse folder (`master=` the Spark
    master URL, `memory=` the driver's memory)."""
    if engine == "duckdb":
        return DuckDBBackend(database, **options)  # type: ignore[arg-type]
    if engine == "spark":
        from clearsight.engine.spark_backend import SparkBackend

        return SparkBackend(database, **options)  # type: ignore[arg-type]
    raise ValueError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")


__all__ = [
    "DEFAULT_DATABASE",
    "DUCKDB_DIALECT",
    "ENGINES",
    "Backend",
    "Dialect",
    "DuckDBBackend",
    "EngineError",
    "open_backend",
]
