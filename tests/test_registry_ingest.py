"""Registry extracts through a mapping: canonical fields, rejects by file/line/column/reason, versions."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clearsight.engine import DuckDBBackend
from clearsight.ledger.store import canonical_json
from clearsight.registry.ingest import ingest_registry
from clearsight.registry.mapping import MappingError, load_mapping

MAPPING = """
kind: payroll
columns:
  record_id: PAYMENT_NO
  national_id: NIN
  family_name: SURNAME
  given_name: FORENAMES
  date_of_birth: DOB
  bank_account: IBAN
  amount: NET_PAY
date_format: "%d/%m/%Y"
keep: [GRADE]
"""

PAYROLL = """PAYMENT_NO,NIN,SURNAME,FORENAMES,DOB,IBAN,NET_PAY,GRADE
P1,AB123,Okafor,Ada,03/04/1980,GB00 1111,2500.50,G7
P2,CD456,"Mensah, Jr",Kofí Ñ,31/12/1975,GB00 2222,2100,G6
P3,EF789,,Ama,01/01/1990,GB00 3333,1900,G5
P4,GH012,Boateng,Yaw,1990-01-01,GB00 4444,1800,G5
P5,IJ345,Asante,Efua,02/02/1985,GB00 5555,a lot,G4
P1,AB123,Okafor,Ada,03/04/1980,GB00 1111,2500.50,G7
"""


def _files(tmp_path: Path, payroll: str = PAYROLL) -> tuple[Path, Path]:
    (tmp_path / "map.yaml").write_text(MAPPING)
    (tmp_path / "payroll.csv").write_text(payroll)
    return tmp_path / "map.yaml", tmp_path / "payroll.csv"


def test_rows_are_mapped_or_rejected_with_file_line_column_and_reason(tmp_path: Path) -> None:
    mapping_path, data = _files(tmp_path)
    versions: list[str] = []
    with DuckDBBackend(":memory:") as backend:
        summary = ingest_registry(backend, data, load_mapping(mapping_path), "ministry", versions.extend)
        records = backend.query_dicts("SELECT * FROM registry_records ORDER BY source_line")
        rejects = backend.query_dicts("SELECT * FROM registry_rejects ORDER BY source_line")
    assert summary.rows == 6 and summary.new_versions == 2 and summary.rejected_rows == 4 and summary.unchanged == 0
    assert [row["record_id"] for row in records] == ["P1", "P2"]
    first = records[0]
    assert first["family_name"] == "Okafor" and str(first["date_of_birth"]) == "1980-04-03"
    assert first["amount"] == 2500.5 and json.loads(first["attributes"]) == {"GRADE": "G7"}
    assert records[1]["family_name"] == "Mensah, Jr" and records[1]["source_line"] == 3
    assert [(r["source_line"], r["column_name"], r["value"], r["reason"]) for r in rejects] == [
        (4, "SURNAME", None, "no name (family_name or full_name)"),
        (5, "DOB", "1990-01-01", "date_of_birth does not match the date format %d/%m/%Y"),
        (6, "NET_PAY", "a lot", "amount is not a number"),
        (7, "PAYMENT_NO", "P1", "duplicate record_id (first at line 2)"),
    ]
    assert all(r["source_file"] == str(data) for r in rejects)
    assert versions == [row["canonical"] for row in records]  # what the ledger receives
    for text in versions:  # canonical as the ledger defines it: sorted keys, compact, UTF-8
        assert canonical_json(json.loads(text)).decode() == text
    assert json.loads(versions[0])["record_id"] == "P1"


def test_a_changed_record_is_a_new_version_and_an_unchanged_one_is_not(tmp_path: Path) -> None:
    mapping_path, data = _files(
        tmp_path,
        "PAYMENT_NO,NIN,SURNAME,FORENAMES,DOB,IBAN,NET_PAY,GRADE\n"
        "P1,AB123,Okafor,Ada,03/04/1980,GB00 1111,2500.50,G7\n"
        "P2,CD456,Mensah,Kofi,31/12/1975,GB00 2222,2100,G6\n",
    )
    mapping = load_mapping(mapping_path)
    with DuckDBBackend(":memory:") as backend:
        ingest_registry(backend, data, mapping, "ministry")
        data.write_text(
            "PAYMENT_NO,NIN,SURNAME,FORENAMES,DOB,IBAN,NET_PAY,GRADE\n"
            "P1,AB123,Okafor,Ada,03/04/1980,GB00 9999,2500.50,G7\n"  # the bank account was rewritten
            "P2,CD456,Mensah,Kofi,31/12/1975,GB00 2222,2100,G6\n"
        )
        again = ingest_registry(backend, data, mapping, "ministry")
        versions = backend.query("SELECT record_id, version, bank_account FROM registry_records ORDER BY 1, 2")
    assert again.new_versions == 1 and again.unchanged == 1
    assert versions == [("P1", 1, "GB00 1111"), ("P1", 2, "GB00 9999"), ("P2", 1, "GB00 2222")]


def test_parquet_extracts_and_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import clearsight.registry.ingest as module

    monkeypatch.setattr(module, "BATCH_ROWS", 7)  # several batches: duplicates are caught across them
    mapping_path, _ = _files(tmp_path)
    ids = [f"P{n}" for n in range(20)] + ["P3"]
    table = pa.table(
        {
            "PAYMENT_NO": ids,
            "NIN": ["X"] * 21,
            "SURNAME": ["Name"] * 21,
            "FORENAMES": ["A"] * 21,
            "DOB": ["01/01/1970"] * 21,
            "IBAN": ["I"] * 21,
            "NET_PAY": pa.array([100.0] * 21),
            "GRADE": ["G1"] * 21,
        }
    )
    path = tmp_path / "payroll.parquet"
    pq.write_table(table, path)
    with DuckDBBackend(":memory:") as backend:
        summary = ingest_registry(backend, path, load_mapping(mapping_path), "ministry")
        reject = backend.query_dicts("SELECT source_line, reason FROM registry_rejects")
    assert summary.new_versions == 20 and summary.rejected_rows == 1
    assert reject == [{"source_line": 21, "reason": "duplicate record_id (first at line 4)"}]


def test_mapping_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: payroll\ncolumns: {record_id: A, surname: B}\n")
    with pytest.raises(MappingError, match=r"bad.yaml: .*unknown canonical field\(s\) surname"):
        load_mapping(bad)
    bad.write_text("kind: ledgers\ncolumns: {record_id: A}\n")
    with pytest.raises(MappingError, match="unknown kind 'ledgers'"):
        load_mapping(bad)
    mapping_path, data = _files(tmp_path, "PAYMENT_NO,SURNAME\nP1,Okafor\n")
    with DuckDBBackend(":memory:") as backend, pytest.raises(MappingError, match=r"payroll.csv: no column\(s\) NIN"):
        ingest_registry(backend, data, load_mapping(mapping_path), "ministry")


def test_command_ingests_and_appends_every_new_version_to_the_ledger(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from clearsight.cli import app
    from clearsight.ledger.store import Ledger

    mapping_path, data = _files(tmp_path)
    runner = CliRunner()
    database, ledger_path = str(tmp_path / "w.duckdb"), str(tmp_path / "ledger.sqlite")
    command = ["--db", database, "--ledger", ledger_path, "ingest", "registry", "payroll", str(data)]
    result = runner.invoke(app, [*command, "--mapping", str(mapping_path), "-d", "ministry", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["new_versions"] == 2 and summary["rejected_rows"] == 4
    assert summary["ledger"]["appended"] == 2
    with DuckDBBackend(database) as backend:
        stored = [row[0] for row in backend.query("SELECT canonical FROM registry_records ORDER BY source_line")]
    with Ledger(ledger_path) as ledger:
        log = ledger.log("registry-payroll")
        assert log.size() == 2
        entries = [log.entry(index) for index in range(2)]
    assert entries == [text.encode() for text in stored]  # the stored canonical JSON is the ledger entry
    again = runner.invoke(app, [*command, "--mapping", str(mapping_path), "-d", "ministry", "--json"])
    assert json.loads(again.output)["ledger"]["appended"] == 0  # nothing changed, nothing appended

    result = runner.invoke(app, [*command, "--mapping", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "missing.yaml" in result.output


@pytest.mark.parametrize("block", [1 << 24, 64])
@pytest.mark.parametrize(
    "text",
    [
        'id,name,note\r\n1,Ann,"two\r\nlines"\r\n2,Bob,plain\r\n3,Cy,"x, ""quoted"""\r\n',
        '\ufeffid,name,note\n1,Ann,"a\nb\nc"\n2,Bob,\n\n3,Cy,after a blank line\n4,Di,"end"\n',
        "id,name,note\n1,Ann,x\n2,Bob,y,extra\n3,Cy\n4,Di,z\n",
    ],
    ids=["crlf-and-quoted-newline", "bom-and-blank-line", "ragged-rows"],
)
def test_csv_rows_and_lines_are_those_of_the_csv_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, block: int
) -> None:
    """Arrow's fast reader and the csv module agree on every row and the line it starts on, whatever the file."""
    from clearsight.registry import ingest as module

    path = tmp_path / "extract.csv"
    path.write_bytes(text.encode("utf-8"))
    monkeypatch.setattr(module, "ARROW_BLOCK_BYTES", block)
    fast = pa.concat_tables(module.csv_batches(path, ["id", "note"], batch_rows=2)).to_pylist()
    slow = pa.concat_tables(module._python_csv_batches(path, ["id", "note"], batch_rows=2)).to_pylist()
    assert fast == slow
