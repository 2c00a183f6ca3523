"""The `clearsight` command, driven through Typer's runner and as a real subprocess (stdin, exit codes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearsight.cli import app

runner = CliRunner()

COMMANDS = [
    [],
    ["ingest"],
    ["ingest", "ocds"],
    ["synth"],
    ["synth", "procurement"],
    ["synth", "land-titles"],
    ["quality"],
    ["summary"],
    ["ledger"],
    *[
        ["ledger", command]
        for command in (
            "keygen",
            "append",
            "checkpoint",
            "prove",
            "consistency",
            "verify",
            "log",
            "verify-entry",
            "verify-extension",
            "cosign",
        )
    ],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "clearsight")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert len(result.output.strip().splitlines()) > 4


def test_synth_ingest_quality_summary_with_json(tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    out = tmp_path / "s.jsonl"
    result = runner.invoke(app, ["synth", "procurement", "-n", "300", "--seed", "3", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    generated = json.loads(result.output)
    assert generated["processes"] == 300 and Path(generated["truth"]).exists()

    result = runner.invoke(app, ["--db", db, "ingest", "ocds", str(out), "--dataset", "syn", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["processes_written"] == 300 and summary["rejected"] == 0
    assert summary["files"][0]["sha256"] and summary["files"][0]["objects_read"] == 300
    # The run is recorded in the ledger beside the warehouse.
    assert summary["ledger"] == {"file": str(tmp_path / "w-ledger.sqlite"), "log": "ingest-runs", "index": 0}

    result = runner.invoke(app, ["--db", db, "quality", "--json"])
    report = json.loads(result.output)["datasets"]["syn"]
    assert report["processes"] == 300
    assert report["coverage"]["processes.buyer_id"] == 1.0
    assert {flag["code"]: flag["status"] for flag in report["flags"]}["R003"] == "supported"

    result = runner.invoke(app, ["--db", db, "summary", "--json"])
    assert json.loads(result.output)["tables"]["syn"]["processes"] == 300

    for command in (["quality"], ["summary"], ["ingest", "ocds", str(out), "-d", "syn"]):
        result = runner.invoke(app, ["--db", db, *command])
        assert result.exit_code == 0, result.output


def test_stdin_and_exit_codes_in_a_real_process(tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    line = json.dumps({"ocid": "ocds-x-1", "id": "1", "date": "2020-01-01T00:00:00Z", "tender": {"title": "t"}})
    command = [sys.executable, "-m", "clearsight", "--db", db]
    done = subprocess.run(
        [*command, "ingest", "ocds", "-", "--json"],
        input=line + "\nnot json\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["processes_written"] == 1 and summary["rejected"] == 1
    assert summary["files"][0]["path"] == "<stdin>"
    missing = subprocess.run(
        [*command, "ingest", "ocds", str(tmp_path / "nope.json")], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2
    assert "nope.json: no such file or folder" in missing.stderr
