"""Ingest formats and bad input: every object is loaded, normalised with an issue, or rejected with a reason."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from clearsight.engine import DuckDBBackend
from clearsight.ingest import reader
from clearsight.ingest.pipeline import IngestSummary, ingest_ocds
from clearsight.ingest.sources import InputError
from tests.conftest import shared


def release(ocid: str = "ocds-x-1", date: str = "2020-01-01T00:00:00Z", **fields: object) -> dict:
    return {"ocid": ocid, "id": f"{ocid}-{date}", "date": date, "tag": ["tender"], **fields}


def write_lines(path: Path, lines: list[object | bytes | str]) -> Path:
    with open(path, "wb") as handle:
        for line in lines:
            if isinstance(line, bytes):
                handle.write(line)
            elif isinstance(line, str):
                handle.write(line.encode())
            else:
                handle.write(json.dumps(line).encode())
            handle.write(b"\n")
    return path


def rejects(backend: DuckDBBackend) -> list[dict]:
    return backend.query_dicts("SELECT file, line, ocid, path, value, reason FROM ingest_rejects ORDER BY line")


def issues(backend: DuckDBBackend) -> list[tuple]:
    return backend.query("SELECT ocid, path, issue, value, normalised FROM quality_issues ORDER BY path, issue")


def test_every_kind_of_container_is_read(backend: DuckDBBackend, tmp_path: Path) -> None:
    package = {
        "uri": "u",
        "publishedDate": "2020-01-01T00:00:00Z",
        "releases": [release("ocds-x-1"), release("ocds-x-2")],
    }
    record_package = {
        "uri": "u",
        "records": [
            {
                "ocid": "ocds-x-3",
                "releases": [{"url": "http://x", "date": "2020-01-01T00:00:00Z"}],
                "compiledRelease": release("ocds-x-3", tag=["compiled"]),
            }
        ],
    }
    (tmp_path / "package.json").write_text(json.dumps(package, indent=2))
    (tmp_path / "records.json").write_text(json.dumps(record_package, indent=2))
    (tmp_path / "array.json").write_text(json.dumps([release("ocds-x-4"), release("ocds-x-5")], indent=1))
    (tmp_path / "single.json").write_text(json.dumps(release("ocds-x-6"), indent=2))
    write_lines(tmp_path / "lines.jsonl", [release("ocds-x-7"), package])  # JSON Lines of a release and a package
    with gzip.open(tmp_path / "compressed.jsonl.gz", "wt") as handle:
        handle.write(json.dumps(release("ocds-x-8")) + "\n")
    with zipfile.ZipFile(tmp_path / "archive.zip", "w") as archive:
        archive.writestr("a.json", json.dumps(release("ocds-x-9")))
        archive.writestr("folder/b.jsonl.gz", gzip.compress(json.dumps(release("ocds-x-10")).encode()))
    summary = ingest_ocds(backend, [str(tmp_path)], "d")
    assert summary.rejected == 0 and summary.accounted
    ocids = {row[0] for row in backend.query("SELECT ocid FROM processes")}
    assert ocids == {f"ocds-x-{n}" for n in range(1, 11)}
    formats = {Path(file.path.split("!")[-1]).name: file.format for file in summary.files}
    assert formats["package.json"] == "json-document" and formats["lines.jsonl"] == "json-lines"
    assert any("archive.zip!folder/b.jsonl.gz" in file.path for file in summary.files)
    assert summary.duplicate_releases == 2  # the package's two releases, given twice


def test_globs_and_missing_paths(backend: DuckDBBackend, tmp_path: Path) -> None:
    write_lines(tmp_path / "a.jsonl", [release("ocds-x-1")])
    write_lines(tmp_path / "b.jsonl", [release("ocds-x-2")])
    summary = ingest_ocds(backend, [str(tmp_path / "*.jsonl")], "d")
    assert summary.processes_written == 2
    with pytest.raises(InputError, match="no such file"):
        ingest_ocds(backend, [str(tmp_path / "missing.json")], "d")
    with pytest.raises(InputError, match="no file matches"):
        ingest_ocds(backend, [str(tmp_path / "*.nothing")], "d")


def test_large_documents_are_streamed_with_the_same_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = {
        "uri": "u",
        "releases": [release(f"ocds-x-{n}", tender={"value": {"amount": n, "currency": "EUR"}}) for n in range(50)]
        + [{"no": "ocid"}],
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(package, indent=2))
    results = []
    for limit in (reader.DOCUMENT_IN_MEMORY_LIMIT, 0):
        monkeypatch.setattr(reader, "DOCUMENT_IN_MEMORY_LIMIT", limit)
        with DuckDBBackend(":memory:") as warehouse:
            summary = ingest_ocds(warehouse, [str(path)], "d")
            results.append(
                (
                    summary.processes_written,
                    summary.rejected,
                    warehouse.query("SELECT ocid, tender_value_amount FROM processes ORDER BY ocid"),
                    warehouse.query("SELECT path, reason FROM ingest_rejects"),
                )
            )
    assert results[0] == results[1]
    assert results[0][0] == 50 and results[0][3] == [("/releases/50/ocid", "missing ocid")]


@pytest.mark.reliability(
    "bad input",
    "OCDS lines that are not JSON, not objects, or lack ids",
    "each rejected with file, line, path and reason",
)
def test_bad_lines_are_rejected_with_file_line_path_and_reason(backend: DuckDBBackend, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl",
        [
            release("ocds-x-1"),  # 1 ok
            "",  # 2 blank
            "   ",  # 3 blank
            '{"ocid": "ocds-x-2", "date": ',  # 4 invalid JSON
            b'{"ocid": "ocds-x-3\xff\xfe"}',  # 5 invalid UTF-8
            "42",  # 6 not an object
            '"text"',  # 7 not an object
            {"id": "1", "date": "2020-01-01"},  # 8 missing ocid
            {"ocid": 12345, "date": "2020-01-01"},  # 9 non-string ocid
            {"ocid": "  ", "date": "2020-01-01"},  # 10 empty ocid
            {"ocid": "ocds-x-4"},  # 11 release without a date
            {"ocid": "ocds-x-5", "releases": [{"url": "http://x", "date": "2020-01-01"}]},  # 12 linked record only
            [],  # 13 empty array
            {},  # 14 empty object
        ],
    )
    summary = ingest_ocds(backend, [str(path)], "d")
    assert summary.objects_read == 14 and summary.blank == 2 and summary.releases_read == 1
    assert summary.rejected == 11 and summary.accounted
    found = {(row["line"], row["path"]): row for row in rejects(backend)}
    assert set(found) == {
        (4, ""),
        (5, ""),
        (6, ""),
        (7, ""),
        (8, "/ocid"),
        (9, "/ocid"),
        (10, "/ocid"),
        (11, "/date"),
        (12, ""),
        (13, ""),
        (14, ""),
    }
    assert found[(4, "")]["reason"].startswith("invalid JSON")
    assert found[(5, "")]["reason"].startswith("invalid UTF-8")
    assert found[(6, "")]["reason"] == "not a JSON object" and found[(6, "")]["value"] == "42"
    assert found[(8, "/ocid")]["reason"] == "missing ocid"
    assert found[(9, "/ocid")]["reason"] == "ocid is not a string" and found[(9, "/ocid")]["value"] == "12345"
    assert found[(11, "/date")]["ocid"] == "ocds-x-4"
    assert "linked releases" in found[(12, "")]["reason"]
    assert all(row["file"] == str(path) for row in found.values())
    assert summary.reject_reasons["invalid JSON"] == 1


def test_values_are_normalised_and_every_change_is_recorded(backend: DuckDBBackend, tmp_path: Path) -> None:
    data = release(
        "ocds-x-1",
        tender={
            "value": {"amount": "1,000.50", "currency": "eur"},
            "tenderPeriod": {"startDate": "15/01/2020", "endDate": "not a date"},
            "Title": "mixed case key",
            "procurementMethod": "open",
            "ProcurementMethod": "duplicate",
        },
        awards=[{"id": "a1", "value": {"amount": "1.234.567,89", "currency": "XYZ"}, "date": 1577836800}],
    )
    summary = ingest_ocds(backend, [str(write_lines(tmp_path / "n.jsonl", [data]))], "d")
    assert summary.rejected == 0
    process = backend.query_dicts(
        "SELECT tender_value_amount, tender_value_currency, tender_period_start, tender_period_end, title, "
        "procurement_method FROM processes"
    )[0]
    assert process["tender_value_amount"] == 1000.5
    assert process["tender_value_currency"] == "EUR"
    assert str(process["tender_period_start"]).startswith("2020-01-15 00:00:00")
    assert process["tender_period_end"] is None
    assert process["title"] == "mixed case key"
    assert process["procurement_method"] == "open"
    award = backend.query_dicts("SELECT value_amount, value_currency, date FROM awards")[0]
    assert award["value_amount"] == 1234567.89 and award["value_currency"] == "XYZ"
    assert str(award["date"]).startswith("2020-01-01 00:00:00")
    recorded = {(path, issue): (value, normalised) for _, path, issue, value, normalised in issues(backend)}
    assert recorded[("/tender/value/amount", "amount_string")] == ("1,000.50", "1000.5")
    assert recorded[("/tender/value/currency", "currency_case")] == ("eur", "EUR")
    assert recorded[("/tender/tenderPeriod/startDate", "date_format")][0] == "15/01/2020"
    assert recorded[("/tender/tenderPeriod/endDate", "date_invalid")] == ("not a date", None)
    assert recorded[("/tender/Title", "key_case")] == ("Title", "title")
    assert ("/tender/ProcurementMethod", "duplicate_key_case") in recorded
    assert recorded[("/awards/value/currency", "unknown_currency")] == ("XYZ", "XYZ")
    assert ("/awards/date", "date_format") in recorded
    assert summary.quality_issues == len(recorded)


def test_huge_objects_load(backend: DuckDBBackend, tmp_path: Path) -> None:
    items = [{"id": str(n), "description": "x" * 100, "quantity": n} for n in range(100_000)]
    path = write_lines(tmp_path / "huge.jsonl", [release("ocds-x-1", tender={"items": items})])
    assert path.stat().st_size > 10_000_000
    summary = ingest_ocds(backend, [str(path)], "d")
    assert summary.rejected == 0
    assert backend.query_value("SELECT count(*) FROM items") == 100_000


def test_a_newer_release_updates_a_known_process(backend: DuckDBBackend, tmp_path: Path) -> None:
    first = release("ocds-x-1", "2020-01-01T00:00:00Z", tender={"status": "active", "title": "Roads"})
    second = release(
        "ocds-x-1",
        "2020-03-01T00:00:00Z",
        tender={"status": "complete"},
        awards=[{"id": "a1", "status": "active", "suppliers": [{"id": "s1", "name": "S"}]}],
    )
    ingest_ocds(backend, [str(write_lines(tmp_path / "1.jsonl", [first]))], "d")
    assert backend.query("SELECT status, title FROM processes") == [("active", "Roads")]
    summary = ingest_ocds(backend, [str(write_lines(tmp_path / "2.jsonl", [second]))], "d")
    assert summary.new_releases == 1 and summary.processes_written == 1
    assert backend.query("SELECT status, title FROM processes") == [("complete", "Roads")]
    assert backend.query("SELECT award_id FROM awards") == [("a1",)]
    assert backend.query_value("SELECT count(*) FROM source_releases") == 2
    # Sending the older release again changes nothing.
    again = ingest_ocds(backend, [str(write_lines(tmp_path / "3.jsonl", [first]))], "d")
    assert again.new_releases == 0
    assert backend.query("SELECT status FROM processes") == [("complete",)]


def test_ocds_1_0_organisation_references(backend: DuckDBBackend, tmp_path: Path) -> None:
    data = release(
        "ocds-x-1",
        buyer={"identifier": {"scheme": "MX-RFC", "id": "ABC"}, "name": "Buyer"},
        awards=[{"id": "a", "suppliers": [{"identifier": {"scheme": "MX-RFC", "id": "S1"}, "name": "S"}]}],
        contracts=[{"id": "c", "amendment": {"date": "2020-02-01T00:00:00Z", "rationale": "r"}}],
    )
    ingest_ocds(backend, [str(write_lines(tmp_path / "old.jsonl", [data]))], "d")
    assert backend.query("SELECT buyer_id, ocds_version FROM processes") == [("MX-RFC-ABC", "1.0")]
    assert backend.query("SELECT supplier_id FROM award_suppliers") == [("MX-RFC-S1",)]
    assert backend.query("SELECT scope, parent_id, rationale FROM amendments") == [("contract", "c", "r")]


def _account(summary: IngestSummary) -> None:
    assert summary.accounted
    for file in summary.files:
        assert file.objects_read == file.releases_read + file.rejected + file.blank, file.path


@pytest.mark.reliability(
    "bad input",
    "Cardinal's own bad-input fixtures",
    "every line loaded or rejected; none lost",
)
def test_cardinal_bad_input_fixtures_are_all_accounted_for(backend: DuckDBBackend) -> None:
    for folder in ("coverage", "prepare"):
        files = sorted(shared("ocds", "cardinal-fixtures", folder).glob("*.jsonl"))
        summary = ingest_ocds(backend, [str(path) for path in files], folder)
        _account(summary)
        assert len(summary.files) == len(files)
    invalid = backend.query_dicts("SELECT file, line, reason FROM ingest_rejects WHERE file LIKE '%invalid_utf8%'")
    assert invalid and invalid[0]["reason"].startswith("invalid UTF-8")
    blank = backend.query_value("SELECT sum(blank) FROM ingest_files WHERE path LIKE '%blank_line%'")
    assert blank >= 1


def test_an_empty_dataset_name_is_refused(backend: DuckDBBackend) -> None:
    with pytest.raises(ValueError, match="dataset"):
        ingest_ocds(backend, [], " ")


def test_parallel_workers_give_the_same_result_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clearsight.ingest import pipeline

    compiled = [
        release(
            f"ocds-x-{n % 40}",
            f"2020-01-{1 + n // 40:02d}T00:00:00Z",
            tag=["compiled"],
            tender={"value": {"amount": str(n), "currency": "EUR"}},
        )
        for n in range(120)
    ]
    lines: list[object] = [*compiled[:60], "not json", "", *compiled[60:], release("ocds-x-1", "2021-01-01T00:00:00Z")]
    path = write_lines(tmp_path / "p.jsonl", lines)
    monkeypatch.setattr(pipeline, "CHUNK_BYTES", 2_000)
    monkeypatch.setattr(pipeline, "STAGE_BATCH", 25)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    results = []
    for workers in (1, 2):
        with DuckDBBackend(":memory:") as warehouse:
            summary = ingest_ocds(warehouse, [str(path)], "d", workers=workers)
            results.append(
                (
                    summary.processes_written,
                    summary.rejected,
                    summary.blank,
                    summary.new_releases,
                    warehouse.query("SELECT ocid, release_date, tender_value_amount FROM processes ORDER BY ocid"),
                    warehouse.query("SELECT line, reason FROM ingest_rejects"),
                    warehouse.query("SELECT ocid, value FROM quality_issues ORDER BY ocid, value"),
                )
            )
    assert results[0] == results[1]
    processes = dict((ocid, amount) for ocid, _, amount in results[0][4])
    assert len(processes) == 40
    assert processes["ocds-x-5"] == 85.0  # the latest of three compiled versions wins
    assert results[0][3] == 121


def test_identical_releases_in_one_package_are_stored_once(backend: DuckDBBackend, tmp_path: Path) -> None:
    same = release("ocds-x-1")
    (tmp_path / "p.json").write_text(json.dumps({"releases": [same, same, release("ocds-x-1", "2020-02-01")]}))
    summary = ingest_ocds(backend, [str(tmp_path / "p.json")], "d")
    assert summary.releases_read == 3 and summary.new_releases == 2 and summary.duplicate_releases == 1
    assert backend.query_value("SELECT count(*) FROM source_releases") == 2


def test_known_and_new_compiled_releases_in_one_batch(backend: DuckDBBackend, tmp_path: Path) -> None:
    compiled = [release(f"ocds-x-{n}", tag=["compiled"], awards=[{"id": "a"}]) for n in range(8)]
    ingest_ocds(backend, [str(write_lines(tmp_path / "first.jsonl", compiled[:5]))], "d")
    summary = ingest_ocds(backend, [str(write_lines(tmp_path / "second.jsonl", compiled))], "d")
    assert summary.new_releases == 3 and summary.duplicate_releases == 5 and summary.processes_written == 3
    assert backend.query_value("SELECT count(*) FROM processes") == 8
    assert backend.query_value("SELECT count(*) FROM awards") == 8


def test_a_compiled_release_read_twice_in_one_run_gives_one_row(backend: DuckDBBackend, tmp_path: Path) -> None:
    """Identical compiled releases in one batch (a repeated line, the same file given twice) are stored once and
    their process written once (each copy used to be flattened and written)."""
    compiled = [release(f"ocds-x-{n}", tag=["compiled"], awards=[{"id": "a"}]) for n in range(4)]
    path = write_lines(tmp_path / "twice.jsonl", [*compiled, compiled[0]])
    summary = ingest_ocds(backend, [str(path), str(path)], "d")
    assert summary.new_releases == 4 and summary.duplicate_releases == 6 and summary.processes_written == 4
    assert backend.query("SELECT count(*), count(DISTINCT ocid) FROM processes") == [(4, 4)]
    assert backend.query_value("SELECT count(*) FROM awards") == 4


def test_contradictory_releases_reject_the_process_and_keep_the_releases(
    backend: DuckDBBackend, tmp_path: Path
) -> None:
    lines = [
        release("ocds-x-1", "2020-01-01T00:00:00Z", tender={"items": "not an array"}),
        release("ocds-x-1", "2020-02-01T00:00:00Z", tender={"items": [{"id": "1"}]}),
        release("ocds-x-2", "2020-01-01T00:00:00Z", tender={"title": "fine"}),
    ]
    summary = ingest_ocds(backend, [str(write_lines(tmp_path / "c.jsonl", lines))], "d")
    assert summary.processes_failed == 1 and summary.processes_written == 1
    assert backend.query("SELECT ocid FROM processes") == [("ocds-x-2",)]
    assert backend.query("SELECT count(*) FROM items") == [(0,)]
    # The reject names the release that could not be merged: its file and line.
    assert backend.query("SELECT file, line, ocid, path, reason FROM ingest_rejects") == [
        (
            str(tmp_path / "c.jsonl"),
            2,
            "ocds-x-1",
            "tender/items",
            "cannot compile process: /tender/items: an earlier release had a string here, this one an array of objects",
        )
    ]
    assert backend.query_value("SELECT count(*) FROM source_releases WHERE ocid = 'ocds-x-1'") == 2


def test_compiled_option_takes_untagged_releases_as_compiled(backend: DuckDBBackend, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [{"ocid": "a", "tender": {"title": "no date, no tag"}}])
    assert ingest_ocds(backend, [str(path)], "plain").rejected == 1  # a release needs a date to be merged
    summary = ingest_ocds(backend, [str(path)], "compiled", compiled=True)
    assert summary.rejected == 0 and summary.processes_written == 1
    assert backend.query("SELECT title FROM processes WHERE dataset = 'compiled'") == [("no date, no tag",)]
