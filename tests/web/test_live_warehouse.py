"""`clearsight serve` holds no lock on the warehouse: other commands read and write it while it serves, and the
server notices the change and serves the new data, keeping the auditors' alert states."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from clearsight.cli import app as cli
from clearsight.web.warehouse import Warehouse
from tests.web.conftest import start_server

runner = CliRunner()


def _cli(*args: str) -> None:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output


def _add_dataset(db: str, folder: Path, dataset: str, processes: int, seed: int) -> str:
    data = folder / f"{dataset}.jsonl"
    _cli("synth", "procurement", "-n", str(processes), "--seed", str(seed), "--out", str(data))
    _cli("--db", db, "--ledger", str(folder / "ledger.sqlite"), "ingest", "ocds", str(data), "-d", dataset)
    _cli("--db", db, "--ledger", str(folder / "ledger.sqlite"), "flags", "run", "-d", dataset)
    return json.loads(data.read_text().splitlines()[0])["ocid"]


def test_the_snapshot_reloads_a_changed_warehouse_and_keeps_alert_states(web_warehouse: str, tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    shutil.copy(web_warehouse, db)
    warehouse = Warehouse(db, memory_limit="1GB")
    try:
        # The server holds nothing: a writer opens the warehouse while the server is up.
        duckdb.connect(db).close()
        alerts = warehouse.rows("SELECT alert_id FROM idx.alerts ORDER BY alert_id LIMIT 2")
        triaged, dismissed = alerts[0]["alert_id"], alerts[1]["alert_id"]
        warehouse.refresh([(triaged, "triaged")])
        warehouse.set_states([(dismissed, "dismissed")])
        before = warehouse.alert_count()
        assert warehouse.reload() is False  # nothing changed
        assert set(warehouse.datasets()) == {"syn"}

        _add_dataset(db, tmp_path, "fresh", 120, 9)
        assert warehouse.changed()
        version = warehouse.version
        assert warehouse.reload() is True
        assert warehouse.version > version and not warehouse.changed()
        assert set(warehouse.datasets()) == {"syn", "fresh"}
        fresh = warehouse.value("SELECT count(*) FROM idx.alerts WHERE dataset = 'fresh'")
        assert fresh > 0 and warehouse.alert_count() == before + fresh
        assert {
            row["alert_id"]: row["status"]
            for row in warehouse.rows("SELECT alert_id, status FROM idx.alerts WHERE status <> 'new'")
        } == {triaged: "triaged", dismissed: "dismissed"}
        # Two reloads in a row retire the first snapshot: only the last two stay on disk.
        _add_dataset(db, tmp_path, "third", 50, 11)
        assert warehouse.reload() is True
        snapshots = sorted(path.name for path in Path(warehouse._scratch.name).glob("warehouse-*.duckdb"))
        assert snapshots == ["warehouse-2.duckdb", "warehouse-3.duckdb"]
    finally:
        warehouse.close()


@pytest.mark.reliability(
    "concurrency",
    "another process writing the warehouse while `serve` reloads it",
    "the reload names the process (pid) holding it; the server keeps serving its last snapshot and reloads "
    "once the writer is done",
)
def test_reload_waits_for_a_writer_and_keeps_serving_the_last_snapshot(web_warehouse: str, tmp_path: Path) -> None:
    from clearsight.engine import WarehouseBusy

    db = str(tmp_path / "w.duckdb")
    shutil.copy(web_warehouse, db)
    warehouse = Warehouse(db, memory_limit="1GB")
    writer = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "c.execute('CREATE TABLE scratch_note AS SELECT 1 AS x'); c.execute('CHECKPOINT'); print('ok', flush=True); "
         "sys.stdin.readline(); c.close()", db],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ok"
        assert warehouse.changed()
        try:
            warehouse.reload()
        except WarehouseBusy as busy:
            assert f"(pid {writer.pid})" in str(busy)
        else:
            raise AssertionError("a reload while a writer holds the warehouse must say so")
        assert warehouse.alert_count() > 0  # still serving the last snapshot
        assert writer.stdin is not None
        writer.stdin.write("\n")
        writer.stdin.flush()
        writer.wait(timeout=30)
        assert warehouse.reload() is True
        assert warehouse.value("SELECT count(*) FROM scratch_note") == 1
    finally:
        writer.kill()
        warehouse.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "clearsight", *args], capture_output=True, text=True, cwd=cwd, env=env)


@pytest.mark.reliability(
    "concurrency",
    "the commands that read and write the warehouse run while `serve` runs",
    "each works; the server serves their results",
)
def test_every_command_works_while_serve_runs_and_the_server_serves_their_results(
    web_warehouse: str, tmp_path: Path
) -> None:
    db = str(tmp_path / "served.duckdb")
    shutil.copy(web_warehouse, db)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "clearsight", "--db", db, "serve", "--port", str(port), "--reload-seconds", "0.5"]
    server = start_server(command, port, tmp_path)
    try:
        # Readers and writers, each as a user runs them, with no waiting allowed.
        ledger = str(tmp_path / "ledger.sqlite")
        readers = (
            ["summary", "--json"], ["quality", "--json"], ["rejects", "--json"],
            ["query", "SELECT count(*) FROM processes"], ["report", "-d", "syn", "--out", "r.html"],
        )  # fmt: skip
        for args in readers:
            result = _run("--db", db, "--wait", "0", *args, cwd=tmp_path)
            assert result.returncode == 0, (args, result.stderr)
        data = tmp_path / "fresh.jsonl"
        assert (
            _run("synth", "procurement", "-n", "80", "--seed", "13", "--out", str(data), cwd=tmp_path).returncode == 0
        )
        ocid = json.loads(data.read_text().splitlines()[0])["ocid"]
        assert httpx.get(f"{base}/api/v1/processes/fresh/{ocid}", timeout=10).status_code == 404
        for args in (["ingest", "ocds", str(data), "-d", "fresh"], ["flags", "run", "-d", "fresh"]):
            result = _run("--db", db, "--ledger", ledger, "--wait", "10", *args, cwd=tmp_path)
            assert result.returncode == 0, (args, result.stderr)
        # The server notices and serves the new process.
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/api/v1/processes/fresh/{ocid}", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the server did not serve the new data within 60 s"
            time.sleep(0.5)
        answer = httpx.get(f"{base}/api/v1/processes/fresh/{ocid}", timeout=10).json()
        assert answer["process"]["ocid"] == ocid
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "Traceback" not in output
