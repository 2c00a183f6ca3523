"""The ledger commands end to end, and the land-title scenario: a rewritten transfer is caught by a third party."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearsight.cli import app
from clearsight.ledger.merkle import leaf_hash
from clearsight.ledger.store import Ledger

runner = CliRunner()


def run(tmp_path: Path, *arguments: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--ledger", str(tmp_path / "ledger.sqlite"), *arguments])
    assert result.exit_code == code, result.output
    return result.stdout


def test_land_title_scenario(tmp_path: Path) -> None:
    events = tmp_path / "titles.jsonl"
    run(tmp_path, "synth", "land-titles", "--titles", "200", "--transfers", "800", "--seed", "3", "--out", str(events))
    lines = events.read_bytes().splitlines()
    assert len(lines) == 1000

    verifier = json.loads(
        run(tmp_path, "ledger", "keygen", "clearsight/titles", "--out", str(tmp_path / "log.key"), "--json")
    )["verifier"]
    witness = json.loads(
        run(
            tmp_path, "ledger", "keygen", "witness.example/w1", "--witness", "--out", str(tmp_path / "w1.key"), "--json"
        )
    )["verifier"]
    (tmp_path / "log.pub").write_text(verifier)

    # The registry logs the first 600 events and publishes a checkpoint; a notary keeps it.
    (tmp_path / "first.jsonl").write_bytes(b"\n".join(lines[:600]) + b"\n")
    appended = json.loads(run(tmp_path, "ledger", "append", str(tmp_path / "first.jsonl"), "--log", "titles", "--json"))
    assert appended["appended"] == 600 and appended["size"] == 600
    first = json.loads(
        run(tmp_path, "ledger", "checkpoint", "--log", "titles", "--key", str(tmp_path / "log.key"), "--json")
    )
    assert first["size"] == 600 and first["note"].startswith("clearsight/titles\n600\n")
    (tmp_path / "held.note").write_text(first["note"])
    run(
        tmp_path,
        "ledger",
        "cosign",
        "--checkpoint",
        str(tmp_path / "held.note"),
        "--key",
        str(tmp_path / "w1.key"),
        "--verifier",
        verifier,
        "--state",
        str(tmp_path / "w1.state"),
    )

    # Anyone can check one transfer offline, with the checkpoint, the entry and its proof.
    proof = run(tmp_path, "ledger", "prove", "450", "--log", "titles", "--size", "600", "--json")
    (tmp_path / "proof.json").write_text(proof)
    assert json.loads(proof)["entry"].encode() == lines[450]
    ok = json.loads(
        run(
            tmp_path,
            "ledger",
            "verify-entry",
            "--checkpoint",
            str(tmp_path / "held.note"),
            "--proof",
            str(tmp_path / "proof.json"),
            "--verifier",
            str(tmp_path / "log.pub"),
            "--json",
        )
    )
    assert ok["ok"] and ok["size"] == 600

    # The log grows honestly; the notary's checkpoint is consistent with the new one, and the witness cosigns.
    (tmp_path / "rest.jsonl").write_bytes(b"\n".join(lines[600:]) + b"\n")
    run(tmp_path, "ledger", "append", str(tmp_path / "rest.jsonl"), "--log", "titles")
    second = json.loads(
        run(tmp_path, "ledger", "checkpoint", "--log", "titles", "--key", str(tmp_path / "log.key"), "--json")
    )
    (tmp_path / "second.note").write_text(second["note"])
    (tmp_path / "consistency.json").write_text(
        run(tmp_path, "ledger", "consistency", "600", "--log", "titles", "--json")
    )
    run(
        tmp_path,
        "ledger",
        "verify-extension",
        "--old",
        str(tmp_path / "held.note"),
        "--new",
        str(tmp_path / "second.note"),
        "--proof",
        str(tmp_path / "consistency.json"),
        "--verifier",
        verifier,
    )
    run(
        tmp_path,
        "ledger",
        "cosign",
        "--checkpoint",
        str(tmp_path / "second.note"),
        "--key",
        str(tmp_path / "w1.key"),
        "--verifier",
        verifier,
        "--state",
        str(tmp_path / "w1.state"),
        "--proof",
        str(tmp_path / "consistency.json"),
    )
    assert "ok" in run(tmp_path, "ledger", "verify", "--log", "titles", "--verifier", verifier)

    # The operator silently rewrites transfer 450 (a new owner), recomputes every hash, and — to get past the
    # log's refusal to sign an inconsistent checkpoint — deletes its own record of earlier checkpoints.
    rewritten = json.loads(lines[450])
    assert rewritten["event"] == "transfer"
    rewritten["to"] = {"id": "00000000000", "name": "Operator Crony"}
    forged_lines = [*lines[:450], json.dumps(rewritten).encode(), *lines[451:]]
    database = sqlite3.connect(tmp_path / "ledger.sqlite")
    database.execute("DELETE FROM ledger_leaves")
    database.execute("DELETE FROM ledger_nodes")
    database.execute("DELETE FROM ledger_checkpoints")
    database.execute("UPDATE ledger_logs SET size = 0")
    database.commit()
    database.close()
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.log("titles").append(forged_lines)
    forged = json.loads(
        run(tmp_path, "ledger", "checkpoint", "--log", "titles", "--key", str(tmp_path / "log.key"), "--json")
    )
    (tmp_path / "forged.note").write_text(forged["note"])
    assert "ok" in run(tmp_path, "ledger", "verify", "--log", "titles", "--verifier", verifier)  # self-consistent

    # The notary, holding the first checkpoint, asks for a consistency proof: the rewrite is exposed.
    (tmp_path / "forged-consistency.json").write_text(
        run(tmp_path, "ledger", "consistency", "600", "--log", "titles", "--json")
    )
    result = runner.invoke(
        app,
        [
            "ledger",
            "verify-extension",
            "--old",
            str(tmp_path / "held.note"),
            "--new",
            str(tmp_path / "forged.note"),
            "--proof",
            str(tmp_path / "forged-consistency.json"),
            "--verifier",
            verifier,
        ],
    )
    assert result.exit_code == 1 and "not consistent" in result.output
    # The old inclusion proof of transfer 450 no longer verifies against the forged tree either.
    (tmp_path / "forged-proof.json").write_text(run(tmp_path, "ledger", "prove", "450", "--log", "titles", "--json"))
    data = json.loads((tmp_path / "forged-proof.json").read_text())
    assert data["leaf_hash"] != json.loads(proof)["leaf_hash"]
    # The witness refuses to cosign the forked history.
    result = runner.invoke(
        app,
        [
            "ledger",
            "cosign",
            "--checkpoint",
            str(tmp_path / "forged.note"),
            "--key",
            str(tmp_path / "w1.key"),
            "--verifier",
            verifier,
            "--state",
            str(tmp_path / "w1.state"),
            "--proof",
            str(tmp_path / "forged-consistency.json"),
        ],
    )
    assert result.exit_code == 1 and "refusing to cosign" in result.output
    assert witness.startswith("witness.example/w1+")


def test_verify_names_the_first_bad_entry(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(20)))
    run(tmp_path, "ledger", "append", str(tmp_path / "e.jsonl"))
    database = sqlite3.connect(tmp_path / "ledger.sqlite")
    database.execute("UPDATE ledger_leaves SET entry = ? WHERE idx = 13", [b'{"n": 99}'])
    database.commit()
    database.close()
    report = json.loads(run(tmp_path, "ledger", "verify", "--json", code=1))
    assert report["ok"] is False and report["first_bad_entry"] == 13


def test_append_refuses_files_with_non_json_lines(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\nnot json\n')
    result = runner.invoke(
        app, ["--ledger", str(tmp_path / "l.sqlite"), "ledger", "append", str(tmp_path / "bad.jsonl")]
    )
    assert result.exit_code == 1 and "entry 2" in result.output and "nothing appended" in result.output


def test_entries_are_the_bytes_as_given(tmp_path: Path) -> None:
    line = b'{ "b":2,  "a":1 }'
    (tmp_path / "e.jsonl").write_bytes(line + b"\r\n")
    run(tmp_path, "ledger", "append", str(tmp_path / "e.jsonl"))
    proof = json.loads(run(tmp_path, "ledger", "prove", "0", "--json"))
    import base64

    assert base64.b64decode(proof["leaf_hash"]) == leaf_hash(line)


@pytest.mark.reliability(
    "attack",
    "`ledger verify` run without naming a key",
    "signatures checked against the log's stored key; `--no-signatures` says in the output that they were not",
)
def test_verify_checks_signatures_by_default_and_says_when_it_does_not(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    run(tmp_path, "ledger", "keygen", "clearsight/notes", "--out", str(tmp_path / "k.key"), "--json")
    run(tmp_path, "ledger", "append", str(tmp_path / "e.jsonl"), "--log", "notes", "--json")
    run(tmp_path, "ledger", "checkpoint", "--log", "notes", "--key", str(tmp_path / "k.key"), "--json")
    checked = json.loads(run(tmp_path, "ledger", "verify", "--log", "notes", "--json"))
    assert checked["ok"] and checked["signatures_checked"]
    unchecked = json.loads(run(tmp_path, "ledger", "verify", "--log", "notes", "--no-signatures", "--json"))
    assert unchecked["ok"] and not unchecked["signatures_checked"]


def test_append_run_again_adds_nothing_unless_asked_and_log_lists_sizes_and_checkpoints(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(json.dumps({"parcel": n}) + "\n" for n in range(1500)))
    second.write_text('{"parcel": "x"}\n')
    run(tmp_path, "ledger", "append", str(first), "--log", "titles")
    again = json.loads(run(tmp_path, "ledger", "append", str(first), "--log", "titles", "--json"))
    assert (again["appended"], again["already_present"], again["size"]) == (0, 1500, 1500)
    said = " ".join(run(tmp_path, "ledger", "append", str(first), "--log", "titles").split())
    assert said == (
        "these 1,500 entries are already the last of log 'titles' (entries 0–1,499): nothing appended (--again "
        "appends a second copy)"
    )
    forced = json.loads(run(tmp_path, "ledger", "append", str(first), "--log", "titles", "--again", "--json"))
    assert (forced["appended"], forced["first_index"], forced["size"]) == (1500, 1500, 3000)
    run(tmp_path, "ledger", "keygen", "clearsight/titles", "--out", str(tmp_path / "titles.key"))
    run(tmp_path, "ledger", "checkpoint", "--log", "titles", "--key", str(tmp_path / "titles.key"))
    run(tmp_path, "ledger", "append", str(second), "--log", "other")
    listed = runner.invoke(app, ["--ledger", str(tmp_path / "ledger.sqlite"), "ledger", "log"], env={"COLUMNS": "150"})
    rows = [line.split("│")[1:-1] for line in listed.stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["other", "clearsight/other", "1", "none yet"],
        ["titles", "clearsight/titles", "3,000", "at 3,000 entries"],
    ]
