"""Engines behind one `Backend` interface: DuckDB by default; SQL is written once in DuckDB's dialect.

The names are loaded on first use (PEP 562), so that importing the package — as every command does to parse
its options — loads neither DuckDB nor Arrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from clearsight.engine.errors import EngineError, WarehouseBusy

DEFAULT_DATABASE = "clearsight.duckdb"
ENGINES = ("duckdb", "spark")

if TYPE_CHECKING:
    from clearsight.engine.base import DUCKDB_DIALECT, Backend, Dialect
    from clearsight.engine.duckdb_backend import DuckDBBackend

_LAZY = {
    "DUCKDB_DIALECT": "clearsight.engine.base",
    "Backend": "clearsight.engine.base",
    "Dialect": "clearsight.engine.base",
    "DuckDBBackend": "clearsight.engine.duckdb_backend",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_backend(database: str = DEFAULT_DATABASE, engine: str = "duckdb", **options: object) -> Backend:
    """Open the warehouse on the named engine: a DuckDB file, or a Spark warehouse folder (`master=` the Spark
    master URL, `memory=` the driver's memory)."""
    if engine == "duckdb":
        from clearsight.engine.duckdb_backend import DuckDBBackend

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
    "WarehouseBusy",
    "open_backend",
]
