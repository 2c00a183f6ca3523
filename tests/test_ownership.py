"""`ingest bods`: BODS 0.2/0.3 (the UK register's statements) and 0.4 (the standard's examples and edge-case
fixtures) into the ownership tables; every statement stored once or rejected with its place and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearsight.cli.main import app
from clearsight.engine import DuckDBBackend
from clearsight.ownership import bods
from clearsight.ownership.bods import current_statements_sql, ingest_bods
from tests.conftest import shared


def uk_files() -> list[Path]:
    folder = shared("ownership", "bluetail", "bluetail", "data", "contracts_finder", "bods", "ch_id_openownership_bods")
    return sorted(folder.glob("*.json"))


def v04_files() -> list[Path]:
    root = shared("ownership")
    return sorted((root / "bods-standard" / "examples").glob("*.json")) + sorted(
        (root / "bods-v04-fixtures" / "data").glob("*/*.json")
    )


def test_the_uk_registers_statements_are_all_accounted_for() -> None:
    """900 statements (README: 361 entity, 187 person, 352 ownership-or-control), two of them repeated in a second
    file: stored once and counted."""
    files = uk_files()
    assert len(files) == 223
    with DuckDBBackend(":memory:") as backend:
        summary = ingest_bods(backend, files, "uk")
        assert (summary.read, summary.already_stored, summary.rejected) == (900, 2, 0)
        assert dict(summary.stored) == {"entity": 359, "person": 187, "relationship": 352}
        assert dict(summary.versions) == {"0.2/0.3": 898}
        assert backend.query(
            "SELECT count(*), count(*) FILTER (WHERE interest_position = 0), count(DISTINCT statement_id) "
            "FROM ownership_interests"
        ) == [(629, 19, 352)]
        # The register's companies join OCDS suppliers by Companies House number.
        assert (
            backend.query_value(
                "SELECT count(*) FROM ownership_entities WHERE list_contains(identifier_keys, 'GB-COH-OC317931')"
            )
            == 1
        )
        # One LLP: three members with 25-50% of the voting rights from 22 February 2017, one of them until 2018.
        rows = backend.query(
            """SELECT i.interest_type, i.share_minimum, i.share_maximum, CAST(i.start_date AS VARCHAR),
                      CAST(i.end_date AS VARCHAR), p.person_type
               FROM ownership_entities AS e
               JOIN ownership_interests AS i ON i.subject = e.record_id
               JOIN ownership_persons AS p ON p.record_id = i.interested_party
               WHERE list_contains(e.identifier_keys, 'GB-COH-OC317931') AND i.interest_type = 'voting-rights'
               ORDER BY 5 NULLS LAST"""
        )
        assert rows == [
            ("voting-rights", 25.0, 50.0, "2017-02-22", "2018-01-25", "knownPerson"),
            ("voting-rights", 25.0, 50.0, "2017-02-22", None, "knownPerson"),
            ("voting-rights", 25.0, 50.0, "2017-02-22", None, "knownPerson"),
        ]
        # Every interested party and subject is a statement of the dataset (the register's files are complete).
        dangling = backend.query_value(
            "SELECT count(*) FROM ownership_interests AS i WHERE i.interested_party IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM ownership_statements AS s WHERE s.record_id = i.interested_party)"
        )
        assert dangling == 0
        # A second run stores nothing more.
        again = ingest_bods(backend, files, "uk")
        assert (again.already_stored, sum(again.stored.values())) == (900, 0)
        assert backend.query_value("SELECT count(*) FROM ownership_statements") == 898


def test_bods_04_examples_and_edge_cases() -> None:
    with DuckDBBackend(":memory:") as backend:
        summary = ingest_bods(backend, v04_files(), "v04")
        assert (summary.read, summary.already_stored, summary.rejected) == (128, 1, 0)
        assert dict(summary.stored) == {"entity": 38, "person": 29, "relationship": 60}
        # An owner nobody could identify: the interest is kept, with the reason and no party.
        assert backend.query(
            "SELECT i.unspecified_reason, i.interested_party FROM ownership_interests AS i "
            "JOIN ownership_statements AS s USING (dataset, statement_id) "
            "WHERE s.file LIKE '%11-anonymous-person%' AND i.unspecified_reason IS NOT NULL"
        ) == [("subjectUnableToConfirmOrIdentifyBeneficialOwner", None)]
        # A cycle: both edges are kept, each 100%.
        cycle = backend.query(
            "SELECT a.name, b.name, i.share_exact FROM ownership_interests AS i "
            "JOIN ownership_statements AS s USING (dataset, statement_id) "
            "JOIN ownership_entities AS a ON a.record_id = i.interested_party "
            "JOIN ownership_entities AS b ON b.record_id = i.subject "
            "WHERE s.file LIKE '%10-circular-ownership%' ORDER BY 1"
        )
        assert cycle == [("Alpha Corp Ltd", "Beta Corp Ltd", 100.0), ("Beta Corp Ltd", "Alpha Corp Ltd", 100.0)]
        # PEP declarations of 0.4.
        assert backend.query_value("SELECT count(*) FROM ownership_persons WHERE pep") >= 1
        # Records updated or closed: only the latest statement of a record is in force, and a closed one is not.
        current = backend.query(f"SELECT record_id, record_status FROM {current_statements_sql('v04')}")
        statuses = backend.query(
            "SELECT record_id, list(record_status ORDER BY statement_date, position) FROM ownership_statements "
            "GROUP BY ALL HAVING count(*) > 1"
        )
        assert statuses, "the examples update some records"
        current_ids = {record for record, _ in current}
        assert len(current_ids) == len(current)  # one statement per record
        for record, history in statuses:
            assert (record in current_ids) == (history[-1] != "closed"), (record, history)
        assert not any(status == "closed" for _, status in current)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_statements_that_cannot_be_loaded_are_rejected_with_place_and_reason(tmp_path: Path) -> None:
    good = {
        "statementID": "e1",
        "statementType": "entityStatement",
        "name": "Alpha Ltd",
        "entityType": "registeredEntity",
    }
    path = write_lines(
        tmp_path / "statements.jsonl",
        [
            json.dumps(good),
            "{not json",
            json.dumps({"statementType": "personStatement"}),
            json.dumps({"statementID": "x", "statementType": "companyStatement"}),
            json.dumps({"statementID": "r1", "statementType": "ownershipOrControlStatement", "interestedParty": {}}),
            json.dumps(
                {
                    "statementID": "r2",
                    "statementType": "ownershipOrControlStatement",
                    "subject": {"describedByEntityStatement": "e1"},
                    "interestedParty": {"unspecified": {"reason": "unknown"}},
                    "interests": [{"type": "shareholding", "share": {"exact": "lots"}}],
                }
            ),
            json.dumps({"statementID": "e2", "statementType": "entityStatement", "foundingDate": "31/12/2001"}),
            "",
            json.dumps(good),
        ],
    )
    with DuckDBBackend(":memory:") as backend:
        summary = ingest_bods(backend, [path], "bad")
        rejects = backend.query("SELECT line, path, value, reason FROM ingest_rejects ORDER BY line")
        stored = backend.query("SELECT statement_id FROM ownership_statements")
    assert (summary.read, summary.rejected, summary.already_stored) == (8, 6, 1)
    assert stored == [("e1",)]
    assert rejects[0][3].startswith("invalid JSON: ")
    assert [(line, where, reason) for line, where, _, reason in rejects[1:]] == [
        (3, "/statementID", "no statement id"),
        (
            4,
            "/statementType",
            "statementType is not one of entityStatement, personStatement, ownershipOrControlStatement",
        ),
        (5, "/subject", "a relationship without its subject"),
        (6, "/interests/0/share/exact", "not a number"),
        (7, "/foundingDate", "not a date (YYYY-MM-DD)"),
    ]
    assert rejects[5][2] == "31/12/2001"
    # Loading the file again records no reject twice (and counts them as rejected again).
    with DuckDBBackend(":memory:") as backend:
        ingest_bods(backend, [path], "bad")
        again = ingest_bods(backend, [path], "bad")
        assert again.rejected == 6 and backend.query_value("SELECT count(*) FROM ingest_rejects") == 6


def test_a_file_is_loaded_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure between the statements and their details leaves the file (one batch) unloaded; the re-run then
    stores what an uninterrupted run stores."""
    files = v04_files()[:3]
    with DuckDBBackend(":memory:") as expected_backend:
        ingest_bods(expected_backend, files, "d")
        expected = _contents(expected_backend)
    original = bods._append
    calls = {"n": 0}

    def failing(backend: DuckDBBackend, columns: list[str], table: str, rows: list[dict]) -> None:
        calls["n"] += 1
        if table == "ownership_interests" and calls["n"] > 5:
            raise RuntimeError("killed")
        original(backend, columns, table, rows)

    with DuckDBBackend(str(tmp_path / "w.duckdb")) as backend:
        monkeypatch.setattr(bods, "_append", failing)
        with pytest.raises(RuntimeError, match="killed"):
            ingest_bods(backend, files, "d")
        monkeypatch.setattr(bods, "_append", original)
        partial = backend.query("SELECT DISTINCT file FROM ownership_statements")
        assert len(partial) < len(files)
        ingest_bods(backend, files, "d")
        assert _contents(backend) == expected


def _contents(backend: DuckDBBackend) -> list[list[tuple]]:
    return [
        backend.query(f"SELECT * EXCLUDE (run_id, load_order) FROM {table} ORDER BY ALL")
        if table == "ownership_statements"
        else backend.query(f"SELECT * FROM {table} ORDER BY ALL")
        for table in ("ownership_statements", "ownership_entities", "ownership_persons", "ownership_interests")
    ]


def test_replaced_statements_are_not_in_force(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "s.jsonl",
        [
            json.dumps({"statementID": "p1", "statementType": "personStatement", "names": [{"fullName": "A B"}]}),
            json.dumps(
                {
                    "statementID": "p2",
                    "statementType": "personStatement",
                    "names": [{"givenName": "A", "familyName": "C"}],
                    "replacesStatements": ["p1"],
                    "hasPepStatus": True,
                }
            ),
        ],
    )
    with DuckDBBackend(":memory:") as backend:
        ingest_bods(backend, [path], "d")
        assert backend.query(f"SELECT statement_id, replaces FROM {current_statements_sql('d')}") == [("p2", ["p1"])]
        assert backend.query("SELECT statement_id, name, pep FROM ownership_persons ORDER BY 1") == [
            ("p1", "A B", None),
            ("p2", "A C", True),
        ]


def test_the_command(tmp_path: Path) -> None:
    files = [str(path) for path in v04_files()[:2]]
    result = CliRunner().invoke(
        app, ["--db", str(tmp_path / "w.duckdb"), "ingest", "bods", *files, "-d", "o", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rejected"] == 0 and data["statements_read"] == sum(data["stored"].values()) + data["already_stored"]
    missing = CliRunner().invoke(app, ["--db", str(tmp_path / "w.duckdb"), "ingest", "bods", str(tmp_path / "no.json")])
    assert missing.exit_code == 2 and "no.json: no such file" in missing.output


def test_ownership_indicators_on_the_uk_contracts_with_their_owners() -> None:
    """229 real Contracts Finder releases whose suppliers are the register's companies (by Companies House number):
    the flag judges every process, and no two tenderers of one process share a beneficial owner there."""
    from clearsight.flags.profile import load_profile
    from clearsight.flags.runner import run_flags
    from clearsight.ingest.pipeline import ingest_ocds

    releases = sorted(shared("ownership", "bluetail", "bluetail", "data", "contracts_finder", "ocds").glob("*/*.json"))
    assert len(releases) == 229
    with DuckDBBackend(":memory:") as backend:
        ingest_ocds(backend, [str(path) for path in releases], "uk")
        ingest_bods(backend, uk_files(), "uk")
        summary = run_flags(backend, "uk", load_profile(), only=["R032"])
        assert summary.counts["R032"] == {"flagged": 0, "clear": 128, "insufficient_data": 101, "not_applicable": 0}
        reasons = backend.query(
            "SELECT json_extract_string(evidence, '$.reason'), count(*) FROM flag_results "
            "WHERE status = 'insufficient_data' GROUP BY 1 ORDER BY 1"
        )
        assert reasons == [
            ("fewer than two of its tenderers have beneficial-ownership data (a BODS entity with the same identifier: "
             "clearsight ingest bods)", 101),
        ]  # fmt: skip
        # C037: the register says nothing of political exposure, so nothing is flagged; the 143 processes judged are
        # the 143 awards the data's README counts with a supplier joined once numbers are zero-padded.
        summary = run_flags(backend, "uk", load_profile(), only=["C037"])
        assert summary.counts["C037"] == {"flagged": 0, "clear": 143, "insufficient_data": 86, "not_applicable": 0}


def test_every_statement_reaches_the_ledger_even_after_a_crash(tmp_path: Path) -> None:
    """A run killed after storing its statements but before the ledger had them: the next run appends them (each
    statement as published, in the order stored), and nothing twice."""
    from clearsight.ledger.store import Ledger

    files = v04_files()[:2]
    database, ledger = tmp_path / "w.duckdb", tmp_path / "ledger.sqlite"
    with DuckDBBackend(str(database)) as backend:
        killed = ingest_bods(backend, files, "o", ledger_log="ownership-bods")  # the ledger never got them
        stored = [text for (text,) in backend.query("SELECT statement FROM ownership_statements ORDER BY load_order")]
    command = ["--db", str(database), "--ledger", str(ledger), "ingest", "bods", *map(str, files), "-d", "o", "--json"]
    for _ in range(2):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["already_stored"] == killed.read and data["ledger"]["appended"] == 0
    with Ledger(str(ledger)) as opened:
        log = opened.log("ownership-bods", create=False)
        entries = [log.entry(index).decode() for index in range(log.size())]
    assert entries == stored and len(stored) == sum(killed.stored.values())
    first = json.loads(files[0].read_text())[0]
    assert json.loads(entries[0]) == first  # the statement as published


def test_a_large_array_is_streamed_and_stored_in_batches_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    files = v04_files()[:4]
    with DuckDBBackend(":memory:") as backend:
        ingest_bods(backend, files, "d")
        expected = _contents(backend)
    monkeypatch.setattr(bods, "DOCUMENT_IN_MEMORY_LIMIT", 200)  # every file is "large": read one statement at a time
    monkeypatch.setattr(bods, "BATCH_STATEMENTS", 2)  # and stored two at a time
    with DuckDBBackend(":memory:") as backend:
        ingest_bods(backend, files, "d")
        assert _contents(backend) == expected
