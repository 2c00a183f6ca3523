"""Where the web app keeps its state, by default beside the warehouse, and its secret key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from clearsight.cases.models import DEFAULT_APP_DB


def default_app_db(warehouse: str) -> str:
    """clearsight.duckdb → clearsight-app.sqlite; other.duckdb → other-app.sqlite (beside it)."""
    path = Path(warehouse)
    if path.name == "clearsight.duckdb":
        return str(path.with_name(DEFAULT_APP_DB))
    return str(path.with_name(f"{path.stem}-app.sqlite"))


def load_secret(path: Path) -> bytes:
    """The server's secret key (CSRF tokens for visitors, keyed client hashes): made once, readable by its owner."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    key = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.hex() + "\n")
    return key
