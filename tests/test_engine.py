"""The Backend interface on DuckDB: errors carry SQL, bulk appends, streaming, transactions, forks."""

from __future__ import annotations

import pyarrow as pa
import pytest

from clearsight.engine import DuckDBBackend, EngineError, open_backend
from clearsight.model import ALL_TABLES, TABLES_BY_NAME


def test_engine_error_carries_the_failing_sql(backend: DuckDBBackend) -> None:
    with pytest.raises(EngineError) as caught:
        backend.query("SELECT no_such_column FROM (SELECT 1 AS a)")
    assert "no_such_column" in caught.value.sql
    assert "failing SQL" in str(caught.value)


def test_canonical_tables_are_created_with_their_columns(backend: DuckDBBackend) -> None:
    backend.ensure_tables(ALL_TABLES)
    backend.ensure_tables(ALL_TABLES)  # idempotent
    for table in ALL_TABLES:
        columns = [
            row[0]
            for row in backend.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table.name],
            )
        ]
        assert columns == table.column_names


def test_append_arrow_and_stream_batches(backend: DuckDBBackend) -> None:
    backend.ensure_tables([TABLES_BY_NAME["lots"]])
    data = pa.table({"dataset": ["d"] * 25, "ocid": [f"o{i}" for i in range(25)], "lot_id": ["1"] * 25})
    backend.append_arrow("lots", data)
    sizes = [batch.num_rows for batch in backend.iter_batches("SELECT * FROM lots ORDER BY ocid", batch_size=10)]
    assert sum(sizes) == 25 and max(sizes) <= 10
    assert backend.query_value("SELECT count(*) FROM lots WHERE value_amount IS NULL") == 25


def test_transaction_rolls_back_on_error(backend: DuckDBBackend) -> None:
    backend.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(RuntimeError), backend.transaction():
        backend.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert backend.query_value("SELECT count(*) FROM t") == 0


def test_fork_reads_while_the_parent_writes(tmp_path) -> None:
    with open_backend(str(tmp_path / "w.duckdb")) as backend:
        backend.execute("CREATE TABLE t AS SELECT range AS a FROM range(5000)")
        reader = backend.fork()
        seen = 0
        for batch in reader.iter_batches("SELECT a FROM t", batch_size=1000):
            backend.execute("INSERT INTO t VALUES (-1)")
            seen += batch.num_rows
        reader.close()
        assert seen == 5000


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        open_backend(":memory:", engine="oracle")
