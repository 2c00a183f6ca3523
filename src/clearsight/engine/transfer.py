"""Copy canonical tables between engines (e.g. a DuckDB warehouse to Spark), streamed in Arrow batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa

from clearsight.engine.base import Backend
from clearsight.model import Table


def _plain(batch: pa.RecordBatch) -> pa.Table:
    """Extension types (DuckDB's JSON) as their storage type, which every engine reads."""
    columns = [
        column.storage if isinstance(column.type, pa.ExtensionType) else column
        for column in pa.Table.from_batches([batch]).columns
    ]
    return pa.Table.from_arrays(columns, names=batch.schema.names)


def copy_tables(
    source: Backend,
    target: Backend,
    tables: Sequence[Table],
    dataset: str | None = None,
    batch_size: int = 200_000,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Append the rows of `tables` (of one dataset, or all) from `source` to `target`; rows copied per table."""
    target.ensure_tables(tables)
    copied: dict[str, int] = {}
    for table in tables:
        if not source.has_table(table.name):
            continue
        names = [column.name for column in table.columns]
        has_dataset = "dataset" in names
        where = "WHERE dataset = ?" if dataset and has_dataset else ""
        params = [dataset] if dataset and has_dataset else None
        count = 0
        for batch in source.iter_batches(f"SELECT {', '.join(names)} FROM {table.name} {where}", params, batch_size):
            if batch.num_rows:
                target.append_arrow(table.name, _plain(batch), names)
                count += batch.num_rows
        copied[table.name] = count
        if progress:
            progress(table.name, count)
    return copied
