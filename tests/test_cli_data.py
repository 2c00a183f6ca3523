"""Seeing the warehouse without SQL (`rejects`, `query`), terminal output that fits, start-up that loads nothing
heavy, and a warehouse another process holds (one line, never a traceback)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearsight.cli import app

runner = CliRunner()
SHARED_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "ocds" / "real-examples"

BAD_OCDS = (
    '{"ocid": "ocds-x-1", "id": "1", "date": "2024-01-01T00:00:00Z", "tag": ["compiled"]}\n'
    "not json\n"
    '{"id": "no-ocid"}\n'
)
BAD_REGISTRY = (
    "person_id,given_name,family_name,date_of_birth\nP1,Ann,Lee,1980-02-03\nP2,Bo,Chan,1990-31-31\n,No,Id,1970-01-01\n"
)
REGISTRY_MAPPING = (
    "kind: civil\ncolumns:\n  record_id: person_id\n  given_name: given_name\n  family_name: family_name\n"
    "  date_of_birth: date_of_birth\n"
)


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    """A warehouse with OCDS rejects (run 1 and a second run of another file) and registry rejects."""
    db = str(tmp_path / "w.duckdb")
    (tmp_path / "bad.jsonl").write_text(BAD_OCDS)
    (tmp_path / "other.jsonl").write_text("[1, 2\n")
    (tmp_path / "civil.csv").write_text(BAD_REGISTRY)
    (tmp_path / "civil.yaml").write_text(REGISTRY_MAPPING)
    for command in (
        ["ingest", "ocds", str(tmp_path / "bad.jsonl"), "-d", "one"],
        ["ingest", "ocds", str(tmp_path / "other.jsonl"), "-d", "one"],
        ["ingest", "registry", "civil", str(tmp_path / "civil.csv"), "-m", str(tmp_path / "civil.yaml"), "-d", "reg"],
    ):
        result = runner.invoke(app, ["--db", db, "--ledger", str(tmp_path / "l.sqlite"), *command])
        assert result.exit_code == 0, result.output
    return db


def _json(args: list[str]) -> object:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_rejects_lists_every_reject_of_ocds_and_registry_ingest(warehouse: str, tmp_path: Path) -> None:
    rows = _json(["--db", warehouse, "rejects", "--json"])
    assert isinstance(rows, list)
    found = sorted(
        (row["source"], row["dataset"], Path(row["file"]).name, row["line"], row["field"], row["ocid"], row["value"],
         row["reason"])
        for row in rows
    )  # fmt: skip
    assert found == [
        ("ocds", "one", "bad.jsonl", 2, "", None, "not json",
         "invalid JSON: invalid literal, expected 'null': column 1"),
        ("ocds", "one", "bad.jsonl", 3, "/ocid", None, "", "missing ocid"),
        ("ocds", "one", "other.jsonl", 1, "", None, "[1, 2",
         "invalid JSON: unexpected end of data: column 6"),
        ("registry civil", "reg", "civil.csv", 3, "date_of_birth", None, "1990-31-31",
         "date_of_birth does not match the date format %Y-%m-%d"),
        ("registry civil", "reg", "civil.csv", 4, "person_id", None, None, "empty record_id"),
    ]  # fmt: skip


def test_rejects_filters_by_run_file_reason_source_and_dataset(warehouse: str) -> None:
    every = _json(["--db", warehouse, "rejects", "--json"])
    first_run = next(row["run_id"] for row in every if row["file"].endswith("bad.jsonl"))
    by_run = _json(["--db", warehouse, "rejects", "--run", first_run, "--json"])
    assert sorted(row["line"] for row in by_run) == [2, 3]
    by_file = _json(["--db", warehouse, "rejects", "--file", "OTHER", "--json"])
    assert [Path(row["file"]).name for row in by_file] == ["other.jsonl"]
    by_reason = _json(["--db", warehouse, "rejects", "--reason", "missing OCID", "--json"])
    assert [(row["line"], row["field"]) for row in by_reason] == [(3, "/ocid")]
    registry = _json(["--db", warehouse, "rejects", "--source", "registry", "--json"])
    assert [row["line"] for row in registry] == [3, 4]
    assert _json(["--db", warehouse, "rejects", "-d", "reg", "--json"]) == registry
    latest = _json(["--db", warehouse, "rejects", "--run", "latest", "--json"])
    assert sorted((row["dataset"], Path(row["file"]).name) for row in latest) == [
        ("one", "other.jsonl"),
        ("reg", "civil.csv"),
        ("reg", "civil.csv"),
    ]
    assert _json(["--db", warehouse, "rejects", "--reason", "no such reason", "--json"]) == []
    bad = runner.invoke(app, ["--db", warehouse, "rejects", "--source", "spreadsheet"])
    assert bad.exit_code == 2 and "ocds or registry" in bad.output


def test_rejects_as_a_table_and_as_csv(warehouse: str) -> None:
    table = runner.invoke(app, ["--db", warehouse, "rejects", "--limit", "2"], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    shown = re.findall(r"(bad\.jsonl|other\.jsonl|civil\.csv):(\d)", table.output)
    assert len(shown) == 2 and len(set(shown)) == 2  # --limit rows, each once
    assert "5 rejected (2 shown" in table.output
    assert "missing ocid" in table.output
    text = runner.invoke(app, ["--db", warehouse, "rejects", "--csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    assert list(rows[0]) == ["source", "run_id", "dataset", "file", "line", "field", "ocid", "value", "reason"]


def test_the_hint_after_an_ingest_with_rejects_works_as_printed(tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    (tmp_path / "bad.jsonl").write_text(BAD_OCDS)
    result = runner.invoke(app, ["--db", db, "--ledger", str(tmp_path / "l.sqlite"), "ingest", "ocds",
                                 str(tmp_path / "bad.jsonl")])  # fmt: skip
    hint = next(line.strip() for line in result.output.splitlines() if "details:" in line)
    command = hint.removeprefix("details:").split()
    assert command[:2] == ["clearsight", "rejects"]
    shown = runner.invoke(app, ["--db", db, *command[1:], "--json"])
    assert shown.exit_code == 0 and len(json.loads(shown.stdout)) == 2


def test_query_reads_as_a_table_json_and_csv_and_never_writes(warehouse: str) -> None:
    rows = _json(["--db", warehouse, "query", "SELECT ocid, dataset FROM processes ORDER BY ocid", "--json"])
    assert rows == [{"ocid": "ocds-x-1", "dataset": "one"}]
    text = runner.invoke(app, ["--db", warehouse, "query", "SELECT 1234567 AS n, 'a,b' AS s", "--csv"]).stdout
    assert text == 'n,s\n1234567,"a,b"\n'
    table = runner.invoke(app, ["--db", warehouse, "query", "SELECT range AS n FROM range(250)", "--limit", "3"])
    assert table.exit_code == 0
    assert "250 rows; 247 more not shown" in table.output
    dates = runner.invoke(
        app, ["--db", warehouse, "query", "SELECT TIMESTAMPTZ '2025-06-20 21:44:00+00' AS t, 1234567"]
    )
    assert "20 Jun 2025 21:44 UTC" in dates.output and "1,234,567" in dates.output
    write = runner.invoke(app, ["--db", warehouse, "query", "DELETE FROM processes"])
    assert write.exit_code == 1 and "only reads" in write.output and "Traceback" not in write.output
    assert _json(["--db", warehouse, "query", "SELECT count(*) AS n FROM processes", "--json"]) == [{"n": 1}]
    wrong = runner.invoke(app, ["--db", warehouse, "query", "SELECT nothing"])
    assert wrong.exit_code == 1 and "nothing" in wrong.output and "failing SQL" not in wrong.output


def test_readers_of_a_missing_warehouse_see_it_empty_and_create_no_file(tmp_path: Path) -> None:
    db = tmp_path / "none.duckdb"
    assert _json(["--db", str(db), "rejects", "--json"]) == []
    assert _json(["--db", str(db), "query", "SELECT count(*) AS n FROM processes", "--json"]) == [{"n": 0}]
    summary = runner.invoke(app, ["--db", str(db), "summary"])
    assert summary.exit_code == 0 and "no warehouse" in summary.output
    assert not db.exists()


@pytest.mark.skipif(not SHARED_EXAMPLES.exists(), reason=f"public test data not available: {SHARED_EXAMPLES}")
def test_a_folder_ingest_is_summed_per_publisher_unless_verbose(tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    base = ["--db", db, "--ledger", str(tmp_path / "l.sqlite"), "ingest", "ocds", str(SHARED_EXAMPLES), "-d", "ex"]
    result = runner.invoke(app, base, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    publishers = sorted(path.name for path in SHARED_EXAMPLES.iterdir() if path.is_dir())
    rows = [line for line in lines if line.startswith("│ ") and not line.startswith("│  ")]
    assert sorted({row.split("│")[1].strip() for row in rows}) == publishers
    assert all(row.split("│")[2].strip() for row in rows)  # every row is a whole row (a file count), none folded
    assert len(rows) < 20 and "--verbose lists each file" in result.output
    verbose = runner.invoke(app, [*base, "--verbose"], env={"COLUMNS": "200"})
    assert verbose.exit_code == 0
    listed = sum(1 for line in verbose.output.splitlines() if str(SHARED_EXAMPLES) in line and "│" in line)
    files = json.loads(runner.invoke(app, [*base, "--json"]).stdout)["files"]
    assert listed == len(files) > 100


def test_summary_fits_80_columns_with_readable_headers(warehouse: str) -> None:
    result = runner.invoke(app, ["--db", warehouse, "summary"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "…" not in result.output
    for header in ("run", "dataset", "releases", "processes", "rejected", "seconds"):
        assert f" {header} " in result.output


def test_commands_that_report_accept_json(tmp_path: Path, warehouse: str) -> None:
    explained = _json(["flags", "explain", "R024", "--json"])
    assert explained["code"] == "R024" and "## Methodology" in explained["documentation"]
    scaffolded = _json(["flags", "scaffold", "R099", "--title", "Odd", "--root", str(tmp_path), "--json"])
    assert scaffolded["code"] == "R099" and len(scaffolded["created"]) == 4
    key = _json(["link", "keygen", "--out", str(tmp_path / "k.key"), "--json"])
    assert key == {"key_file": str(tmp_path / "k.key"), "mode": "0600"}
    app_db = str(tmp_path / "app.sqlite")
    added = _json(["--db", warehouse, "users", "add", "rita", "--role", "supervisor", "--app-db", app_db, "--json"])
    assert added["user"] == "rita" and added["role"] == "supervisor" and len(added["password"]) >= 12
    token = _json(["--db", warehouse, "users", "token", "create", "rita", "--app-db", app_db, "--json"])
    assert token["token"].startswith("cst_")
    listed = _json(["--db", warehouse, "users", "list", "--app-db", app_db, "--json"])
    assert [(user["user"], user["role"], user["active"]) for user in listed] == [("rita", "supervisor", True)]


def test_the_cli_knows_the_roles_of_the_app_database() -> None:
    from clearsight.cases.models import ROLES
    from clearsight.cli.web import ROLES as CLI_ROLES

    assert tuple(CLI_ROLES) == tuple(ROLES)


def test_start_up_loads_no_engine_database_or_web_stack() -> None:
    """What made `clearsight --version` take 1–2 s: every command imported DuckDB, Arrow, SQLAlchemy, the web app
    and hashed a password at import. The time itself is measured by benchmarks/startup.py."""
    heavy = ["duckdb", "pyarrow", "sqlalchemy", "argon2", "cryptography", "pandas", "sklearn", "fastapi", "pydantic",
             "splink", "networkx", "numpy", "yaml", "clearsight.ledger.store", "clearsight.engine.base"]  # fmt: skip
    code = (
        "import sys\n"
        "from clearsight.cli import app\n"
        "from typer.main import get_command\n"
        "get_command(app)\n"
        f"print([name for name in {heavy!r} if name in sys.modules])\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
    version = subprocess.run([sys.executable, "-m", "clearsight", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip().startswith("clearsight ")


HOLD = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
connection.close()
"""


def _hold(db: str, mode: str, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, db, mode, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def _clearsight(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "clearsight", *args], capture_output=True, text=True, env=env)


def test_a_held_warehouse_gives_one_line_naming_the_holder(warehouse: str, tmp_path: Path) -> None:
    holder = _hold(warehouse, "write", 30)
    try:
        for command in (["summary"], ["query", "SELECT 1"], ["ingest", "ocds", str(tmp_path / "bad.jsonl")]):
            result = _clearsight("--db", warehouse, "--ledger", str(tmp_path / "l.sqlite"), "--wait", "0.5", *command)
            assert result.returncode == 1, result
            assert "Traceback" not in result.stderr
            error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
            assert len(error_lines) == 1, result.stderr
            assert f"(pid {holder.pid})" in error_lines[0] and "in use by" in error_lines[0]
            assert "--wait" in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_command_waits_for_a_writer_saying_who_it_waits_for(warehouse: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); "
         "sys.stdin.readline(); c.close()", warehouse],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    waiter = subprocess.Popen(
        [sys.executable, "-m", "clearsight", "--db", warehouse, "--wait", "60", "query",
         "SELECT count(*) FROM processes", "--csv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert waiter.stderr is not None
    said = waiter.stderr.readline()  # printed once, while it waits
    assert said.startswith(f"waiting up to 60 s for the warehouse {warehouse}: in use by")
    assert f"(pid {holder.pid})" in said
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait(timeout=30)
    stdout, stderr = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, stderr
    assert stdout == "count_star()\n1\n"


def test_readers_share_the_warehouse(warehouse: str) -> None:
    holder = _hold(warehouse, "read", 30)
    try:
        for command in (["summary", "--json"], ["quality", "--json"], ["rejects", "--json"], ["query", "SELECT 1"]):
            result = _clearsight("--db", warehouse, "--wait", "0", *command)
            assert result.returncode == 0, (command, result.stderr)
    finally:
        holder.kill()
        holder.wait()


def test_clearsight_names_another_clearsight_command_by_its_words() -> None:
    from clearsight.engine.duckdb_backend import describe_process

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "clearsight", "--db", "x.duckdb",
                                "ingest", "ocds", "file.jsonl"])  # fmt: skip
    try:
        time.sleep(0.2)
        assert describe_process(sleeper.pid) == f"`clearsight ingest ocds` (pid {sleeper.pid})"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert describe_process(os.getpid()).endswith(f"(pid {os.getpid()})")
