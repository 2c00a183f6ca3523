"""Shared fixtures: an in-memory DuckDB warehouse and the public data in ../shared/data."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from clearsight.engine import DuckDBBackend

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
OCDS = SHARED_DATA / "ocds"


def shared(*parts: str) -> Path:
    """A path under ../shared/data; skips the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public test data not available: {path} (see ../shared/data/README.md)")
    return path


def synthetic_warehouse(folder: Path, processes: int, seed: int, *steps: str, dataset: str = "syn") -> str:
    """A DuckDB warehouse of synthetic processes built through the CLI, then each step (`flags`, `network`)."""
    from typer.testing import CliRunner

    from clearsight.cli import app as cli

    data = folder / f"synthetic-{processes}-{seed}.jsonl"
    db = str(folder / f"synthetic-{processes}-{seed}.duckdb")
    commands = [
        ["synth", "procurement", "-n", str(processes), "--seed", str(seed), "--out", str(data)],
        ["--db", db, "ingest", "ocds", str(data), "-d", dataset],
    ]
    commands += [["--db", db, *{"flags": ["flags", "run"], "network": ["network", "build"]}[step], "-d", dataset]
                 for step in steps]  # fmt: skip
    runner = CliRunner()
    for command in commands:
        result = runner.invoke(cli, command)
        assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def backend() -> Iterator[DuckDBBackend]:
    warehouse = DuckDBBackend(":memory:")
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Spark warehouse (local mode) open for the whole test session, so that Spark stays up between the tests that
    run on each engine (each opens a warehouse of its own beside it); skips without Java or PySpark."""
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine (Spark needs Java 17)")
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install -e '.[test]')")
    from clearsight.engine.spark_backend import SparkBackend

    backend = SparkBackend(tmp_path_factory.mktemp("spark-engine"), master="local[2]", memory="1g")
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def release_schema() -> dict:
    import json

    return json.loads(shared("ocds", "schema-1.1", "release-schema.json").read_text())


# Debian's Chromium, headless, in a container: no sandbox, no GPU, nothing fetched in the background.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

POSTGRES_URL_VARIABLE = "CLEARSIGHT_TEST_POSTGRES"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL to a fresh, empty schema on the test PostgreSQL server; skips when none is configured.

    `.ci/run` starts Debian's PostgreSQL and sets CLEARSIGHT_TEST_POSTGRES (see scripts/start-postgres.sh).
    """
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_URL_VARIABLE} (CI starts one with scripts/start-postgres.sh)")
    psycopg = pytest.importorskip("psycopg")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


# --- docs/reliability.md: its table is written by the tests that prove it (tests/reliability.py) ----------------
_RELIABILITY = None


def _whole_suite(config: pytest.Config) -> bool:
    """Whether this session runs the whole suite: no paths but the tests folder, no -k, -m, --deselect, --lf."""
    tests = Path(__file__).resolve().parent
    paths = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
    return (
        all(path == tests for path in paths)
        and not config.option.keyword
        and not config.option.markexpr
        and not config.getoption("deselect", None)
        and not config.getoption("lf", False)
    )


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    global _RELIABILITY
    from tests.reliability import Collector

    if _whole_suite(config):  # a part of the suite proves only part: the page keeps what the last full run proved
        _RELIABILITY = Collector()
        _RELIABILITY.collected(items)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _RELIABILITY is not None:
        _RELIABILITY.reported(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _RELIABILITY is not None and not hasattr(session.config, "workerinput"):
        _RELIABILITY.write()
