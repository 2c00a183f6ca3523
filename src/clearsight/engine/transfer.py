"""Copy canonical tables between engines (e.g. a DuckDB warehouse to Spark) through Parquet files.

The source writes each table as Parquet into a staging folder and the target reads it from there, so that engines
that speak Parquet natively (DuckDB's COPY, Spark's reader) move the rows without passing them through Python;
others stream Arrow batches (Backend.export_parquet / append_parquet).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from clearsight.engine.base import Backend, sql_literal
from clearsight.model import Table


def copy_tables(
    source: Backend,
    target: Backend,
    tables: Sequence[Table],
    dataset: str | None = None,
    progress: Callable[[str, int], None] | None = None,
    staging: Path | None = None,
) -> dict[str, int]:
    """Append the rows of `tables` (of one dataset, or all) from `source` to `target`; rows copied per table.

    `staging` is where the Parquet files wait between the engines (default: a temporary folder beside the
    target's warehouse when it is a folder, else the system's); it must be readable by the target's workers.
    """
    target.ensure_tables(tables)
    copied: dict[str, int] = {}
    parent = staging or (Path(target.path).parent if Path(target.path).is_dir() else None)
    with tempfile.TemporaryDirectory(prefix="clearsight-load-", dir=parent) as scratch:
        for table in tables:
            if not source.has_table(table.name):
                continue
            names = [column.name for column in table.columns]
            # JSON travels as its text: every engine reads a Parquet string.
            select = ", ".join(
                f"CAST({column.name} AS VARCHAR) AS {column.name}" if column.type == "JSON" else column.name
                for column in table.columns
            )
            where = f"WHERE dataset = {sql_literal(dataset)}" if dataset and "dataset" in names else ""
            folder = Path(scratch) / table.name
            count = source.export_parquet(f"SELECT {select} FROM {table.name} {where}", folder)
            if count:
                target.append_parquet(table.name, folder, names)
            shutil.rmtree(folder, ignore_errors=True)
            copied[table.name] = count
            if progress:
                progress(table.name, count)
    return copied
