"""`clearsight users` and `clearsight serve` as a user runs them."""

from __future__ import annotations

import shutil
import signal
import socket
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from clearsight.cli import app as cli
from clearsight.web.app import Settings, create_app
from tests.web.conftest import start_server

runner = CliRunner()


def test_users_add_token_and_list(web_warehouse: str, tmp_path: Path) -> None:
    app_db = str(tmp_path / "app.sqlite")
    base = ["--db", web_warehouse, "users"]
    added = runner.invoke(cli, [*base, "add", "maria", "--role", "supervisor", "--app-db", app_db])
    assert added.exit_code == 0, added.output
    assert "password:" in added.output
    again = runner.invoke(cli, [*base, "add", "maria", "--app-db", app_db])
    assert again.exit_code == 1 and "exists already" in again.output
    bad_role = runner.invoke(cli, [*base, "add", "olga", "--role", "king", "--app-db", app_db])
    assert bad_role.exit_code == 1 and "unknown role" in bad_role.output
    short = runner.invoke(cli, [*base, "add", "olga", "--password-stdin", "--app-db", app_db], input="short\n")
    assert short.exit_code == 1 and "at least 12" in short.output
    token = runner.invoke(cli, [*base, "token", "create", "maria", "--app-db", app_db]).output.strip()
    assert token.startswith("cst_")
    listed = runner.invoke(cli, [*base, "list", "--app-db", app_db])
    assert "maria" in listed.output and "supervisor" in listed.output
    app = create_app(Settings(warehouse=web_warehouse, app_db=app_db, ledger=str(tmp_path / "ledger.sqlite")))
    client = TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/concerns").status_code == 200  # a supervisor's call


def test_serve_starts_prints_demo_accounts_and_stops(web_warehouse: str, tmp_path: Path) -> None:
    warehouse = tmp_path / "served.duckdb"
    shutil.copy(web_warehouse, warehouse)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "clearsight", "--db", str(warehouse), "serve", "--port", str(port), "--demo-users"]
    server = start_server(command, port, tmp_path)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    for account in ("analyst", "supervisor", "admin"):
        assert account in output
    assert f"http://localhost:{port}/" in output
    assert (tmp_path / "served-app.sqlite").exists() and (tmp_path / "served-web.secret").exists()
    assert oct((tmp_path / "served-web.secret").stat().st_mode & 0o777) == "0o600"


def test_serve_refuses_a_missing_warehouse(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["--db", str(tmp_path / "none.duckdb"), "serve"])
    assert result.exit_code == 1 and "no warehouse" in result.output
