"""Shared fixtures: an in-memory DuckDB warehouse and the public data in ../shared/data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def backend() -> Iterator[DuckDBBackend]:
    warehouse = DuckDBBackend(":memory:")
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="session")
def release_schema() -> dict:
    import json

    return json.loads(shared("ocds", "schema-1.1", "release-schema.json").read_text())
