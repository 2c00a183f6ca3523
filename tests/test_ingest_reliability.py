"""Issue #15: bad numbers never stop a run, and a crash at any moment followed by a re-run gives what an
uninterrupted run gives (nothing lost)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from clearsight.engine import DuckDBBackend
from clearsight.ingest.pipeline import ingest_ocds
from tests.test_ingest_inputs import issues, release, write_lines


@pytest.mark.reliability(
    "bad input",
    'OCDS counts and amounts beyond any column (1e300, 10^20, below −2^63, negative counts, "1e999")',
    "the value is left out with a quality issue naming it; the rest of the release is stored",
)
def test_numbers_beyond_the_columns_are_dropped_with_an_issue_not_a_crash(
    backend: DuckDBBackend, tmp_path: Path
) -> None:
    bad = [
        release("ocds-x-1", tender={"numberOfTenderers": 99999999999999999999}),
        release("ocds-x-2", tender={"numberOfTenderers": 1e300}),
        release("ocds-x-3", tender={"numberOfTenderers": -3}),
        release("ocds-x-4", tender={"numberOfTenderers": 18446744073709551615}),
        release("ocds-x-5", tender={"numberOfTenderers": 9223372036854775807, "value": {"amount": "1e999"}}),
        release("ocds-x-6", tender={"numberOfTenderers": "7", "value": {"amount": 12}}),
    ]
    for item in bad:
        item["tag"] = ["compiled"]
    path = write_lines(tmp_path / "numbers.jsonl", bad)
    summary = ingest_ocds(backend, [str(path)], "d")
    assert (summary.releases_read, summary.processes_written, summary.rejected) == (6, 6, 0)
    assert backend.query("SELECT ocid, number_of_tenderers, tender_value_amount FROM processes ORDER BY ocid") == [
        ("ocds-x-1", None, None),
        ("ocds-x-2", None, None),
        ("ocds-x-3", None, None),
        ("ocds-x-4", None, None),
        ("ocds-x-5", 9223372036854775807, None),
        ("ocds-x-6", 7, 12.0),
    ]
    assert sorted(issues(backend)) == [
        ("ocds-x-1", "/tender/numberOfTenderers", "integer_out_of_range", "1e+20", None),
        ("ocds-x-2", "/tender/numberOfTenderers", "integer_out_of_range", "1e+300", None),
        ("ocds-x-3", "/tender/numberOfTenderers", "count_negative", "-3", None),
        ("ocds-x-4", "/tender/numberOfTenderers", "integer_out_of_range", "18446744073709551615", None),
        ("ocds-x-5", "/tender/value/amount", "amount_not_finite", "1e999", None),
        ("ocds-x-6", "/tender/numberOfTenderers", "amount_string", "7", "7.0"),
    ]


def _rejects(backend: DuckDBBackend) -> list[tuple]:
    return backend.query("SELECT line, reason FROM ingest_rejects ORDER BY line")


@pytest.mark.reliability(
    "bad input",
    "a gzip file cut short",
    "every line before the cut is stored; one reject says where the file stopped",
)
def test_a_truncated_gzip_keeps_every_line_before_the_cut_and_says_where_it_stopped(
    backend: DuckDBBackend, tmp_path: Path
) -> None:
    lines = b"".join(json.dumps(release(f"ocds-x-{n:05d}")).encode() + b"\n" for n in range(20000))
    whole = gzip.compress(lines)
    cut = whole[: len(whole) * 3 // 4]
    readable = zlib.decompressobj(wbits=31).decompress(cut)  # what any reader can recover from the cut file
    complete = readable.count(b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(cut)
    summary = ingest_ocds(backend, [str(path)], "d")
    partial = 1 if not readable.endswith(b"\n") else 0  # the last line, cut in the middle
    assert summary.releases_read == complete
    assert backend.query_value("SELECT count(*) FROM processes") == complete
    assert summary.rejected == partial + 1 and summary.accounted
    assert _rejects(backend)[-1] == (
        complete + partial + 1,
        "truncated input: the compressed data stop before their end (every line before this was read)",
    )
    if partial:
        line, reason = _rejects(backend)[0]
        assert line == complete + 1 and reason.startswith("invalid JSON")


@pytest.mark.reliability(
    "bad input",
    "a 1 MB .zip / .gz holding 1 GiB of NUL bytes (decompression bomb)",
    "stopped past the size/ratio limit with a reject naming the file; memory stays bounded",
)
def test_a_decompression_bomb_is_stopped_with_a_reject_in_bounded_memory(
    backend: DuckDBBackend, tmp_path: Path
) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    path = tmp_path / "bomb.json.gz"
    with open(path, "wb") as handle:
        handle.write(compressor.compress(b'{"releases": ['))
        zeros = b"\0" * (16 << 20)
        for _ in range(64):  # 1 GiB of NUL bytes
            handle.write(compressor.compress(zeros))
        handle.write(compressor.flush())
    assert path.stat().st_size < 2 << 20
    code = (
        "import resource, sys\n"
        "from clearsight.engine import DuckDBBackend\n"
        "from clearsight.ingest.pipeline import ingest_ocds\n"
        "with DuckDBBackend(':memory:') as backend:\n"
        "    summary = ingest_ocds(backend, [sys.argv[1]], 'd')\n"
        "    print(summary.rejected, backend.query('SELECT reason FROM ingest_rejects')[0][0])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=_environment())
    assert result.returncode == 0, result.stderr
    first, peak = result.stdout.strip().splitlines()
    assert first.startswith("1 unreadable input: ") and "expands more than 200 times" in first
    assert int(peak) < 1_200_000  # KB: well under the 4.4 GB it took, and under the 1 GiB it holds


@pytest.mark.reliability(
    "bad input",
    "a gzip member inside a zip whose name does not end in .gz",
    "decompressed and read like any other member",
)
def test_a_gzip_member_of_a_zip_is_decompressed_whatever_its_name(backend: DuckDBBackend, tmp_path: Path) -> None:
    archive = tmp_path / "bulk.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("part-1.data", gzip.compress(json.dumps(release("ocds-z-1")).encode() + b"\n"))
        bundle.writestr("part-2.jsonl", json.dumps(release("ocds-z-2")).encode() + b"\n")
    summary = ingest_ocds(backend, [str(archive)], "d")
    assert (summary.releases_read, summary.rejected) == (2, 0)
    assert backend.query("SELECT ocid FROM processes ORDER BY ocid") == [("ocds-z-1",), ("ocds-z-2",)]


# --- crash safety: kill -9 at seeded random moments, re-run, compare with an uninterrupted run ---------------

RUN_ID_COLUMNS = {"ingest_run_id", "run_id"}


def _release_input(path: Path, processes: int) -> Path:
    """Release input (not compiled): a tender release and a later award release per process, which the ingest
    must merge — the kind of input whose processes a killed run used to lose."""
    with open(path, "w", encoding="utf-8") as handle:
        for number in range(processes):
            ocid = f"ocds-crash-{number:06d}"
            tender = release(ocid, "2024-01-01T00:00:00Z", tender={
                "id": f"t-{number}", "title": f"Road works lot {number}", "value": {"amount": 1000 + number,
                "currency": "EUR"}, "numberOfTenderers": number % 5, "items": [{"id": "1", "description": "asphalt",
                "quantity": number % 7}]}, buyer={"id": f"b-{number % 40}", "name": f"Town {number % 40}"})  # fmt: skip
            award = release(ocid, "2024-03-01T00:00:00Z", awards=[{"id": "a1", "status": "active", "value": {
                "amount": f"1,0{number % 100:02d}.50", "currency": "eur"}, "suppliers": [{"id": f"s-{number % 90}",
                "name": f"Firm {number % 90}"}]}])  # fmt: skip
            award["tag"] = ["award"]
            handle.write(json.dumps(tender) + "\n" + json.dumps(award) + "\n")
            if number % 997 == 0:
                handle.write("{broken json\n")
    return path


def _compiled_input(path: Path, processes: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for number in range(processes):
            item = release(f"ocds-cmp-{number:06d}", tender={"value": {"amount": number, "currency": "USD"}})
            item["tag"] = ["compiled"]
            handle.write(json.dumps(item) + "\n")
    return path


def warehouse_digest(db: str) -> dict[str, str]:
    """A content hash of every ingest table, leaving out the run ids (which differ between any two runs)."""
    from clearsight.model import CONTRACTING_TABLES, INGEST_REJECTS, QUALITY_ISSUES, SOURCE_RELEASES

    digests = {}
    with DuckDBBackend(db, read_only=True) as backend:
        for table in (*CONTRACTING_TABLES, SOURCE_RELEASES, QUALITY_ISSUES, INGEST_REJECTS):
            columns = [name for name in table.column_names if name not in RUN_ID_COLUMNS]
            rows = sorted(repr(row) for row in backend.query(f"SELECT {', '.join(columns)} FROM {table.name}"))
            digests[table.name] = f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
        pending = (
            backend.query_value("SELECT count(*) FROM ingest_pending") if backend.has_table("ingest_pending") else 0
        )
        digests["ingest_pending"] = str(pending)
    return digests


def _ingest_command(db: Path, data: Path) -> list[str]:
    return [sys.executable, "-m", "clearsight", "--db", str(db), "--ledger", str(db.with_suffix(".ledger")),
            "ingest", "ocds", str(data), "-d", "crash", "--json"]  # fmt: skip


def _environment() -> dict[str, str]:
    source = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONPATH": source + os.pathsep + os.environ.get("PYTHONPATH", "")}


class _Written:
    """How many bytes a run has written so far: the growth of its write-ahead log (where each commit lands) and,
    with `with_file`, of the warehouse file too (DuckDB writes large inserts there directly, before they commit),
    counted across the checkpoints that empty the log."""

    def __init__(self, db: Path, with_file: bool) -> None:
        self.files = (db, Path(f"{db}.wal")) if with_file else (Path(f"{db}.wal"),)
        self.total = 0
        self._last = [0] * len(self.files)

    def poll(self) -> int:
        for position, file in enumerate(self.files):
            try:
                size = file.stat().st_size
            except FileNotFoundError:  # not yet written, or a log removed between two looks (SQLite's -wal on close)
                size = 0
            last = self._last[position]
            self.total += size - last if size >= last else size
            self._last[position] = size
        return self.total


def _finished_runs(db: Path) -> list[str]:
    with DuckDBBackend(str(db), read_only=True) as backend:
        rows = backend.query(
            "SELECT run_id FROM ingest_runs WHERE json_extract_string(summary, '$.status') IS DISTINCT FROM "
            "'interrupted' ORDER BY run_id"
        )
    return [run_id for (run_id,) in rows]


def _logged_runs(db: Path) -> list[str]:
    """The runs in the ledger's ingest-runs log, in order (each once, or the comparison fails)."""
    connection = sqlite3.connect(db.with_suffix(".ledger"))
    try:
        entries = connection.execute(
            "SELECT l.entry FROM ledger_leaves AS l JOIN ledger_logs AS g USING (log_id) "
            "WHERE g.name = 'ingest-runs' ORDER BY l.idx"
        ).fetchall()
    finally:
        connection.close()
    return [json.loads(entry)["run_id"] for (entry,) in entries]


def _kill_and_rerun(data: Path, folder: Path, points: int, seed: int, with_file: bool, must_interrupt: int) -> None:
    """Kill the ingest (SIGKILL) at `points` seeded random points of its progress — once it has written a random
    share of what an uninterrupted run writes, so that the points fall while it writes however fast or loaded the
    machine is —, run it again, and compare every ingest table with the uninterrupted run's. At least
    `must_interrupt` kills must hit a run that had committed something, so that recovery is exercised (and not
    only runs killed before they wrote, or after they finished)."""
    reference_db = folder / "reference.duckdb"
    reference_run = subprocess.Popen(_ingest_command(reference_db, data), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=_environment())  # fmt: skip
    progress = _Written(reference_db, with_file)
    while reference_run.poll() is None:
        progress.poll()
        time.sleep(0.002)
    peak = progress.total
    assert reference_run.returncode == 0, reference_run.stderr.read() if reference_run.stderr else ""
    reference = warehouse_digest(str(reference_db))
    assert reference["ingest_pending"] == "0" and peak > 0
    chooser = random.Random(seed)
    thresholds = sorted(chooser.uniform(0, peak) for _ in range(points))
    interrupted = 0
    for number, threshold in enumerate(thresholds):
        db = folder / f"killed-{number}.duckdb"
        victim = subprocess.Popen(_ingest_command(db, data), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=_environment())  # fmt: skip
        committed = _Written(db, with_file)
        while victim.poll() is None and committed.poll() < threshold:
            time.sleep(0.002)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        finished_anyway = victim.returncode == 0
        rerun = subprocess.run(_ingest_command(db, data), capture_output=True, text=True, env=_environment())
        assert rerun.returncode == 0, rerun.stderr
        assert warehouse_digest(str(db)) == reference, f"killed after {threshold:,.0f} of {peak:,} bytes written"
        summary = json.loads(rerun.stdout)
        if summary["interrupted_runs"]:
            interrupted += 1
            with DuckDBBackend(str(db), read_only=True) as backend:
                recorded = backend.query(
                    "SELECT run_id, json_extract_string(summary, '$.status') FROM ingest_runs ORDER BY run_id"
                )
            assert (summary["interrupted_runs"][0], "interrupted") in recorded
        assert not (finished_anyway and summary["interrupted_runs"])
        assert _logged_runs(db) == _finished_runs(db), f"killed after {threshold:,.0f} bytes: ledger ≠ ingest_runs"
        for path in folder.glob(f"killed-{number}.*"):
            path.unlink()
    assert interrupted >= must_interrupt, f"only {interrupted} of {points} kills interrupted a run that had written"


@pytest.mark.slow
@pytest.mark.reliability(
    "crash",
    "`ingest ocds` of release input (releases to merge) killed with SIGKILL at 20 seeded points, then run again",
    "every ingest table identical to an uninterrupted run's; the killed run recorded as interrupted",
)
def test_killed_at_random_moments_release_input_rerun_gives_the_same_warehouse(tmp_path: Path) -> None:
    # Its commits go through the log: kills placed by the log's growth mostly hit a run midway (13 of 20 here).
    _kill_and_rerun(_release_input(tmp_path / "releases.jsonl", 6000), tmp_path, 20, 15, False, must_interrupt=5)


@pytest.mark.slow
@pytest.mark.reliability(
    "crash",
    "`ingest ocds` of compiled releases killed at 20 seeded points, then run again",
    "every ingest table identical to an uninterrupted run's",
)
def test_killed_at_random_moments_compiled_input_rerun_gives_the_same_warehouse(tmp_path: Path) -> None:
    # Compiled releases are written in three large batches straight to the file: few kills land between them.
    _kill_and_rerun(_compiled_input(tmp_path / "compiled.jsonl", 25000), tmp_path, 20, 16, True, must_interrupt=1)


PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from clearsight.ingest.pipeline import exit_with_parent

if __name__ == "__main__":
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent,
                               initargs=(os.getpid(),))
    futures = [pool.submit(time.sleep, 120) for _ in range(2)]
    time.sleep(1.5)
    print(" ".join(str(pid) for pid in pool._processes), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.reliability(
    "crash",
    "the ingest's parent process killed with SIGKILL while its workers run",
    "the workers exit within seconds",
)
def test_ingest_workers_exit_when_the_ingest_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=_environment())
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "ingest workers outlived their killed parent by 10 s"
        time.sleep(0.2)


# --- registry CSV: nothing shifted, swallowed or crashing --------------------------------------------------

CIVIL_MAPPING = """kind: civil
columns:
  record_id: id
  family_name: surname
  given_name: forename
  date_of_birth: born
  address: address
  phone: phone
"""
CIVIL_HEADER = "id,surname,forename,born,address,phone\n"


def _ingest_civil(tmp_path: Path, text: bytes, mapping: str = CIVIL_MAPPING) -> tuple[DuckDBBackend, object]:
    from clearsight.registry.ingest import ingest_registry
    from clearsight.registry.mapping import load_mapping

    (tmp_path / "civil.csv").write_bytes(text)
    (tmp_path / "civil.yaml").write_text(mapping)
    backend = DuckDBBackend(":memory:")
    summary = ingest_registry(backend, tmp_path / "civil.csv", load_mapping(tmp_path / "civil.yaml"), "d")
    return backend, summary


def _good_rows(count: int, first: int = 0) -> str:
    return "".join(f"P{n},Lee{n},Ann,1980-01-01,\"1 Main St, Springfield\",+1 555 {n:04d}\n" for n in
                   range(first, first + count))  # fmt: skip


@pytest.mark.reliability(
    "bad input",
    "a registry CSV row with an unquoted comma (one field too many)",
    "a reject naming line and reason; no shifted columns stored",
)
def test_an_unquoted_comma_is_a_reject_not_a_shifted_row(tmp_path: Path) -> None:
    text = (
        CIVIL_HEADER + _good_rows(3) + "P3,Lee3,Ann,1980-01-01,1 Main St, Springfield,+1 555 0003\n" + _good_rows(2, 4)
    )
    backend, summary = _ingest_civil(tmp_path, text.encode())
    assert backend.query("SELECT record_id, address, phone FROM registry_records ORDER BY source_line") == [
        (f"P{n}", "1 Main St, Springfield", f"+1 555 {n:04d}") for n in (0, 1, 2, 4, 5)
    ]
    assert backend.query("SELECT source_line, column_name, value, reason FROM registry_rejects") == [
        (5, None, "P3,Lee3,Ann,1980-01-01,1 Main St, Springfield,+1 555 0003",
         "7 fields where the header has 6 (an unquoted comma, or a field missing?)"),
    ]  # fmt: skip
    assert (summary.rows, summary.rejected_rows) == (6, 1)


@pytest.mark.reliability(
    "bad input",
    "a registry CSV with an unbalanced quote",
    "one reject naming the lines it spans; every other row stored",
)
def test_an_unclosed_quote_does_not_swallow_the_rows_after_it_silently(tmp_path: Path) -> None:
    text = CIVIL_HEADER + _good_rows(100) + 'P100,"Lee100,Ann,1980-01-01,x,y\n' + _good_rows(99, 101)
    backend, summary = _ingest_civil(tmp_path, text.encode())
    stored = backend.query_value("SELECT count(*) FROM registry_records")
    rejected = backend.query("SELECT source_line, reason FROM registry_rejects ORDER BY source_line")
    # The open quote runs into the next line and stops at its quoted address: those two lines are one reject
    # that names them; every other row is stored.
    assert stored == 198
    assert rejected == [(102, "unreadable CSV (lines 102–103): ',' expected after '\"'; a quote left open?")]
    assert summary.rows == stored + len(rejected)


@pytest.mark.parametrize(
    ("encoding", "mapping_line"),
    [("latin-1", "encoding: latin-1\n"), ("utf-16", ""), ("cp1252", "encoding: cp1252\n")],
)
@pytest.mark.reliability(
    "bad input",
    "registry extracts in Latin-1, UTF-16 and UTF-8 with a byte-order mark",
    "read as declared in the mapping or marked by the file; names intact",
)
def test_other_encodings_are_read_when_declared_or_marked(tmp_path: Path, encoding: str, mapping_line: str) -> None:
    text = CIVIL_HEADER + "P1,Müller,José,1980-01-01,Straße 1,+49 1\nP2,Ørsted,Zoë,1981-02-02,Gade 2,+45 2\n"
    backend, summary = _ingest_civil(tmp_path, text.encode(encoding), CIVIL_MAPPING + mapping_line)
    assert backend.query("SELECT family_name, given_name FROM registry_records ORDER BY source_line") == [
        ("Müller", "José"),
        ("Ørsted", "Zoë"),
    ]
    assert summary.rejected_rows == 0


@pytest.mark.reliability(
    "bad input",
    "bytes that are not valid in the extract's encoding",
    "that row rejected with its line; the others stored",
)
def test_bytes_not_in_the_encoding_reject_the_row_with_its_line(tmp_path: Path) -> None:
    text = CIVIL_HEADER.encode() + _good_rows(2).encode() + "P2,Müller,José,1980-01-01,x,y\n".encode("latin-1")
    text += _good_rows(1, 3).encode()
    backend, summary = _ingest_civil(tmp_path, text)
    assert backend.query_value("SELECT count(*) FROM registry_records") == 3
    assert backend.query("SELECT source_line, value, reason FROM registry_rejects") == [
        (4, "P2,M\\xfcller,Jos\\xe9,1980-01-01,x,y",
         "field 2 has bytes that are not utf-8: give the file's encoding in the mapping "
         "(encoding: latin-1, cp1252, …)"),
    ]  # fmt: skip
    assert summary.rows == 4


def test_an_unknown_encoding_in_a_mapping_is_a_mapping_error(tmp_path: Path) -> None:
    from clearsight.registry.mapping import MappingError

    with pytest.raises(MappingError, match="unknown encoding 'klingon'"):
        _ingest_civil(tmp_path, CIVIL_HEADER.encode(), CIVIL_MAPPING + "encoding: klingon\n")


# --- exports people open in spreadsheets ----------------------------------------------------------------------


@pytest.mark.reliability(
    "attack",
    "cells starting with =, +, -, @ exported to CSV (formula injection)",
    "prefixed so spreadsheets show them as text; Parquet keeps the data unchanged",
)
def test_csv_exports_neutralise_formulas(backend: DuckDBBackend, tmp_path: Path) -> None:
    import csv as csv_module

    rows = [("=HYPERLINK(\"http://x\")", 1), ("+1+2", 2), ("-3", 3), ("@SUM(A1)", 4), ("\tx", 5), ("plain", 6),
            (None, 7)]  # fmt: skip
    backend.execute("CREATE TABLE cells (text VARCHAR, number INTEGER)")
    backend.execute("INSERT INTO cells VALUES " + ", ".join("(?, ?)" for _ in rows), [v for row in rows for v in row])
    out = tmp_path / "cells.csv"
    assert backend.export_file("SELECT * FROM cells ORDER BY number", out, "csv") == 7
    with open(out, newline="") as handle:
        read = [tuple(row) for row in csv_module.reader(handle)]
    assert read == [
        ("text", "number"),
        ('\'=HYPERLINK("http://x")', "1"),
        ("'+1+2", "2"),
        ("'-3", "3"),
        ("'@SUM(A1)", "4"),
        ("'\tx", "5"),
        ("plain", "6"),
        ("", "7"),
    ]
    parquet = tmp_path / "cells.parquet"
    backend.export_file("SELECT * FROM cells ORDER BY number", parquet, "parquet")
    assert backend.query(f"SELECT text FROM '{parquet}' LIMIT 1") == [('=HYPERLINK("http://x")',)]  # data unchanged


@pytest.mark.reliability(
    "bad input",
    "invalid JSON on line 2 of a JSON-Lines file",
    "a reject at line 2 naming the column",
)
def test_a_reject_of_a_bad_line_names_its_column_not_line_1(backend: DuckDBBackend, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [release("ocds-x-1"), b'  {"ocid": "ocds-x-2", "date": 2020-01}'])
    ingest_ocds(backend, [str(path)], "d")
    assert _rejects(backend) == [(2, "invalid JSON: unexpected character, expected ',' or '}': column 36")]


@pytest.mark.reliability(
    "bad input",
    "a new release of a known process that cannot be merged with its earlier ones",
    "the process keeps its rows; a reject at the release's file and line",
)
def test_a_known_process_whose_new_release_contradicts_keeps_its_rows(backend: DuckDBBackend, tmp_path: Path) -> None:
    first = [release("ocds-x-1", "2020-02-01T00:00:00Z", tender={"title": "Bridge", "items": [{"id": "1"}]})]
    ingest_ocds(backend, [str(write_lines(tmp_path / "a.jsonl", first))], "d")
    # An earlier release, published late, that the merge cannot reconcile (items as text, then as an array).
    later = [release("ocds-x-1", "2020-01-01T00:00:00Z", tender={"items": "not an array"})]
    summary = ingest_ocds(backend, [str(write_lines(tmp_path / "b.jsonl", later))], "d")
    assert (summary.processes_failed, summary.processes_written) == (1, 0)
    assert backend.query("SELECT ocid, title FROM processes") == [("ocds-x-1", "Bridge")]  # not lost
    assert backend.query("SELECT count(*) FROM items") == [(1,)]
    assert backend.query("SELECT ocid, path FROM ingest_rejects") == [("ocds-x-1", "tender/items")]
    assert backend.query_value("SELECT count(*) FROM ingest_pending") == 0
    assert backend.query_value("SELECT count(*) FROM source_releases") == 2


def _package(count: int, name: str = "Escuela Técnica Nº 5") -> dict:
    return {
        "uri": "u",
        "publishedDate": "2020-01-01T00:00:00Z",
        "releases": [release(f"ocds-x-{n}", buyer={"name": name}) for n in range(1, count + 1)],
    }


@pytest.mark.parametrize(
    ("encoding", "mark"),
    [
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
    ],
)
@pytest.mark.parametrize("layout", ["document", "lines"])
@pytest.mark.reliability(
    "bad input",
    "OCDS documents and lines with a byte-order mark, in UTF-16 or UTF-32",
    "read whole, as UTF-8 would be",
)
def test_byte_order_marks_and_utf16_documents_and_lines_are_read_whole(
    backend: DuckDBBackend, tmp_path: Path, encoding: str, mark: bytes, layout: str
) -> None:
    """Finding 15: a 2-release document with a BOM, or in UTF-16, fell back to line mode: 937 rejects, nothing read."""
    package = _package(2)
    if layout == "document":
        text = json.dumps(package, indent=2, ensure_ascii=False) + "\n"
    else:
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in package["releases"])
    path = tmp_path / f"{layout}.json"
    path.write_bytes(mark + text.encode(encoding))
    summary = ingest_ocds(backend, [str(path)], "d")
    assert (summary.releases_read, summary.rejected) == (2, 0)
    assert backend.query("SELECT DISTINCT buyer_name FROM processes") == [("Escuela Técnica Nº 5",)]


@pytest.mark.reliability(
    "bad input",
    "a UTF-16 file with bytes that are not UTF-16",
    "what came before is stored; one reject at the true line says the rest was not read",
)
def test_bytes_that_are_not_utf16_stop_the_file_with_a_reject_after_keeping_what_came_before(
    backend: DuckDBBackend, tmp_path: Path
) -> None:
    lines = "".join(json.dumps(release(f"ocds-x-{n}")) + "\n" for n in range(1, 4)).encode("utf-16-le")
    path = tmp_path / "broken.jsonl"
    path.write_bytes(b"\xff\xfe" + lines + b"\x00\xdc\x41\x00")  # a lone low surrogate
    summary = ingest_ocds(backend, [str(path)], "d")
    assert summary.releases_read == 3 and summary.accounted
    ((line, reason),) = _rejects(backend)
    assert line == 4 and "not valid UTF-16-LE at byte" in reason and "not read further" in reason


@pytest.mark.reliability(
    "bad input",
    "a JSON package broken midway",
    "the releases before the break stored; one reject at its true line and column (not line-mode noise)",
)
def test_a_broken_document_keeps_the_releases_before_the_break_and_names_its_line(
    backend: DuckDBBackend, tmp_path: Path
) -> None:
    text = json.dumps(_package(3), indent=2)
    at = text.index('"ocid": "ocds-x-3"')
    broken = text[:at] + '"ocid" "ocds-x-3"' + text[at + len('"ocid": "ocds-x-3"') :]
    path = tmp_path / "broken.json"
    path.write_text(broken)
    summary = ingest_ocds(backend, [str(path)], "d")
    line = broken[:at].count("\n") + 1
    assert backend.query("SELECT ocid FROM processes ORDER BY ocid") == [("ocds-x-1",), ("ocds-x-2",)]
    assert summary.rejected == 1 and summary.releases_read == 2
    ((reject_line, reason),) = _rejects(backend)
    assert reject_line == line
    assert reason.startswith(f"invalid JSON document at line {line} column ") and "rest of the file" in reason


def test_json_lines_with_a_broken_first_line_are_still_read_line_by_line(
    backend: DuckDBBackend, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "lines.jsonl", [b'{"ocid": "broken', *[release(f"ocds-x-{n}") for n in range(5)]])
    summary = ingest_ocds(backend, [str(path)], "d")
    assert (summary.releases_read, summary.rejected) == (5, 1)
    ((line, reason),) = _rejects(backend)
    assert line == 1 and reason.startswith("invalid JSON")
