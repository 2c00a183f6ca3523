"""Commands within a memory budget (`--memory-limit`): the engine's share, `ingest ocds` batches sized to it and the
same warehouse as without, `flags run` the same verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearsight.cli.common import parse_size
from clearsight.engine import DuckDBBackend
from clearsight.flags import runner
from clearsight.flags.profile import load_profile
from clearsight.ingest.pipeline import ENGINE_SHARE, OcdsIngest, ingest_ocds
from clearsight.model import CONTRACTING_TABLES, INGEST_REJECTS, QUALITY_ISSUES, SOURCE_RELEASES
from tests.conftest import shared


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1GB", 1_000_000_000),
        ("512MB", 512_000_000),
        ("1.5GB", 1_500_000_000),
        ("2GiB", 2 * 1024**3),
        ("800000000", 800_000_000),
        (" 64 mib ", 64 * 1024**2),
        ("3g", 3_000_000_000),
    ],
)
def test_sizes_are_read_as_memory_limit_takes_them(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "1 parsec", "-1GB", "1,5GB", "1e9"])
def test_what_is_not_a_size_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def _limit(backend: DuckDBBackend) -> str:
    return str(backend.query_value("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'"))


def test_limited_memory_sets_the_engine_limit_for_a_block_and_restores_it(tmp_path: Path) -> None:
    with DuckDBBackend(tmp_path / "w.duckdb", memory_limit="1GB") as backend:
        before = _limit(backend)
        with backend.limited_memory(300 * 1024**2):
            assert _limit(backend) == "300.0 MiB"
        assert _limit(backend) == before
        with pytest.raises(RuntimeError), backend.limited_memory(100 * 1024**2):
            raise RuntimeError("the block fails")
        assert _limit(backend) == before
        with backend.limited_memory(1):  # never below what the engine needs to run at all
            assert _limit(backend) == "64.0 MiB"


def _warehouse(backend: DuckDBBackend) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in (*CONTRACTING_TABLES, QUALITY_ISSUES, INGEST_REJECTS, SOURCE_RELEASES):
        columns = [name for name in table.column_names if name not in ("ingest_run_id", "run_id")]
        out[table.name] = sorted(backend.query(f"SELECT {', '.join(columns)} FROM {table.name}"), key=repr)
    return out


def test_a_run_within_a_budget_gives_the_same_warehouse_in_smaller_batches(tmp_path: Path) -> None:
    paths = [str(path) for path in sorted(shared("ocds", "real-compiled").glob("*.jsonl"))]
    with DuckDBBackend(tmp_path / "free.duckdb") as free:
        OcdsIngest(free, "real").run(paths)
        expected = _warehouse(free)
    budget = 48 * 1024**2
    seen: list[str] = []
    flushes = 0
    with DuckDBBackend(tmp_path / "budget.duckdb", memory_limit="1GB") as backend:
        before = _limit(backend)
        run = OcdsIngest(backend, "real", progress=lambda phase, advance, total: seen.append(_limit(backend)))
        run.memory_budget = budget
        flush = run._flush_staged

        def counting_flush() -> None:
            nonlocal flushes
            flushes += run._staged_rows > 0
            flush()

        run._flush_staged = counting_flush  # type: ignore[method-assign]
        summary = run.run(paths)
        assert run.stage_bytes == 1024**2  # 1/48 of the budget
        assert flushes >= 3  # 6 MB of releases in batches of about 1 MB (the free run stores them in one)
        assert set(seen) == {"64.0 MiB"}  # a quarter of 48 MiB is below the engine's floor
        assert _limit(backend) == before
        assert summary.accounted
        assert _warehouse(backend) == expected


def test_the_engine_gets_its_share_of_the_budget_during_the_run(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text('{"ocid": "ocds-1", "tag": ["compiled"], "date": "2024-01-01T00:00:00Z"}\n')
    seen: list[str] = []
    with DuckDBBackend(tmp_path / "w.duckdb", memory_limit="1GB") as backend:
        run = OcdsIngest(backend, "d", progress=lambda phase, advance, total: seen.append(_limit(backend)))
        run.memory_budget = 800 * 1024**2
        run.run([str(path)])
        assert set(seen) == {f"{800 * ENGINE_SHARE:.1f} MiB"}
        assert run.stage_bytes == 800 * 1024**2 // 48


def test_a_flag_run_within_a_budget_gives_the_engine_its_share_and_the_same_verdicts(tmp_path: Path) -> None:
    paths = [str(path) for path in sorted(shared("ocds", "real-compiled").glob("*.jsonl"))]

    def verdicts(backend: DuckDBBackend, run_id: str) -> list[tuple[object, ...]]:
        rows = backend.query(
            "SELECT indicator, subject_type, subject_id, status, value FROM flag_results WHERE run_id = ?", [run_id]
        )
        # NaN (a ratio of nothing) equals nothing, not even itself: compare it as text
        return sorted(((*row[:4], "nan" if row[4] != row[4] else row[4]) for row in rows), key=repr)

    with DuckDBBackend(tmp_path / "w.duckdb", memory_limit="1GB") as backend:
        ingest_ocds(backend, paths, "real", workers=1)
        free = runner.run_flags(backend, "real", load_profile("default"))
        before = _limit(backend)
        seen: list[str] = []
        bounded = runner.run_flags(
            backend,
            "real",
            load_profile("default"),
            progress=lambda code: seen.append(_limit(backend)),
            memory_budget=500 * 1024**2,
        )
        assert set(seen) == {f"{500 * runner.ENGINE_SHARE:.1f} MiB"}
        assert _limit(backend) == before
        assert verdicts(backend, bounded.run_id) == verdicts(backend, free.run_id)
        assert len(verdicts(backend, free.run_id)) > 1_000
