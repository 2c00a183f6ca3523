"""Crash safety by construction (issue 15): each command that writes — `ingest registry`, `ledger append`,
`link registries`, `flags run` (and `ingest ocds`, in test_ingest_reliability.py) — is killed (SIGKILL) at 20
seeded random points of what it writes, run again, and compared with an uninterrupted run by a content hash of
every table it writes and of the ledger logs it appends to: identical every time."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clearsight.engine import DuckDBBackend
from tests.reliability import record_figure
from tests.test_ingest_reliability import _environment, _Written

POINTS = 20
Digest = Callable[[Path], dict[str, str]]


def _hash(rows: list[object]) -> str:
    text = sorted(repr(row) for row in rows)
    return f"{len(text)}:" + hashlib.sha256("\n".join(text).encode()).hexdigest()[:16]


def table_digest(db: Path, table: str, leave_out: set[str], where: str = "") -> str:
    with DuckDBBackend(str(db), read_only=True) as backend:
        if not backend.has_table(table):
            return "absent"
        columns = [name for name, *_ in backend.query(f"DESCRIBE {table}") if name not in leave_out]
        return _hash(backend.query(f"SELECT {', '.join(columns)} FROM {table} {where}"))


def ledger_digest(ledger: Path, logs: tuple[str, ...], contents: bool = True) -> dict[str, str]:
    """Each log's entries in order (their bytes' hash and type; or, without `contents`, only how many)."""
    digests = {}
    if not ledger.exists():
        return dict.fromkeys(logs, "absent")
    connection = sqlite3.connect(ledger)
    try:
        for log in logs:
            rows = connection.execute(
                "SELECT l.idx, l.entry_type, l.entry FROM ledger_leaves AS l JOIN ledger_logs AS g USING (log_id) "
                "WHERE g.name = ? ORDER BY l.idx",
                [log],
            ).fetchall()
            ordered = [(idx, kind, hashlib.sha256(entry).hexdigest()[:12] if contents else "") for idx, kind, entry
                       in rows]  # fmt: skip
            assert [idx for idx, *_ in ordered] == list(range(len(ordered))), f"log {log} has gaps"
            digests[log] = f"{len(ordered)}:" + hashlib.sha256(repr(ordered).encode()).hexdigest()[:16]
    finally:
        connection.close()
    return digests


def _verify(folder: Path, log: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clearsight", "--ledger", str(folder / "ledger.sqlite"), "ledger", "verify", "--log",
         log, "--json"], capture_output=True, text=True, env=_environment(),
    )  # fmt: skip
    assert result.returncode == 0 and json.loads(result.stdout)["ok"], result.stdout + result.stderr


def kill_and_rerun(
    request: pytest.FixtureRequest,
    template: Path,
    command: list[str],
    digest: Digest,
    work: Path,
    seed: int,
    must_interrupt: int = 3,
) -> int:
    """Run `command` (in a copy of `template`, a folder holding warehouse.duckdb and ledger.sqlite as the test
    prepared them) once to the end; then, for each of POINTS seeded random points of what that run wrote, in a
    fresh copy: run it, kill it once it has written that much, run it again to the end, and compare `digest` of
    the folder with the uninterrupted run's. Returns how many kills hit a run midway (it had written something
    and had not finished)."""

    def fresh(name: str) -> Path:
        folder = work / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(template, folder)
        return folder

    def watch(folder: Path) -> _Written:
        written = _Written(folder / "warehouse.duckdb", with_file=True)
        written.files = (*written.files, folder / "ledger.sqlite", folder / "ledger.sqlite-wal")
        written._last = [0] * len(written.files)
        written.poll()
        written.total = 0  # what the copy held already is not this run's writing
        return written

    def start(folder: Path) -> subprocess.Popen[bytes]:
        arguments = [part.replace("{folder}", str(folder)) for part in command]
        return subprocess.Popen([sys.executable, "-m", "clearsight", *arguments], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=_environment(), cwd=folder)  # fmt: skip

    reference_folder = fresh("reference")
    progress = watch(reference_folder)
    run = start(reference_folder)
    while run.poll() is None:
        progress.poll()
        time.sleep(0.002)
    progress.poll()
    assert run.returncode == 0, run.stderr.read().decode() if run.stderr else ""
    reference = digest(reference_folder)
    peak = progress.total
    assert peak > 0
    chooser = random.Random(seed)
    interrupted = 0
    for number, threshold in enumerate(sorted(chooser.uniform(0, peak) for _ in range(POINTS))):
        folder = fresh(f"killed-{number}")
        written = watch(folder)
        victim = start(folder)
        while victim.poll() is None and written.poll() < threshold:
            time.sleep(0.002)
        midway = victim.poll() is None and written.total > 0
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        interrupted += midway and victim.returncode != 0
        rerun = start(folder)
        _, error = rerun.communicate()
        assert rerun.returncode == 0, error.decode()
        got = digest(folder)
        assert got == reference, f"killed after {threshold:,.0f} of {peak:,} bytes written: {got} != {reference}"
        shutil.rmtree(folder)
    assert interrupted >= must_interrupt, f"only {interrupted} of {POINTS} kills hit a run midway"
    record_figure(request, f"{POINTS} kills, {interrupted} of them midway: every re-run identical")
    return interrupted


# --- ingest registry ----------------------------------------------------------------------------------------------

PAYROLL_MAPPING = """
kind: payroll
columns:
  record_id: PAYMENT_NO
  national_id: NIN
  family_name: SURNAME
  given_name: FORENAMES
  date_of_birth: DOB
  bank_account: IBAN
  amount: NET_PAY
date_format: "%Y-%m-%d"
"""


def _payroll(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("PAYMENT_NO,NIN,SURNAME,FORENAMES,DOB,IBAN,NET_PAY\n")
        for number in range(rows):
            pay = "n/a" if number % 1999 == 0 else f"{1500 + number % 900}.{number % 100:02d}"
            record = f"P{number:07d}" if number % 4001 else f"P{number - 1:07d}"  # now and then a repeated id
            handle.write(f"{record},NI{number:08d},Family{number % 5000},Given{number % 700},"
                         f"19{50 + number % 50}-0{1 + number % 9}-1{number % 10},XX{number:012d},{pay}\n")  # fmt: skip


def _registry_digest(folder: Path) -> dict[str, str]:
    db = folder / "warehouse.duckdb"
    volatile = {"run_id"}
    digests = {table: table_digest(db, table, volatile) for table in ("registry_records", "registry_rejects")}
    digests["owed"] = table_digest(db, "ledger_pending", set())
    digests.update(ledger_digest(folder / "ledger.sqlite", ("registry-payroll",)))
    _verify(folder, "registry-payroll")
    return digests


@pytest.mark.slow
@pytest.mark.reliability(
    "crash",
    "`ingest registry` (20,000 payroll rows, batches of 4,000, onto an earlier extract) killed with SIGKILL at 20 "
    "seeded points of what it writes, then run again",
    "records, rejects and the registry's ledger log identical to an uninterrupted run's; the log verifies",
)
def test_ingest_registry_killed_anywhere_then_rerun_gives_the_same_records_rejects_and_ledger(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    template = tmp_path / "template"
    template.mkdir()
    _payroll(template / "payroll.csv", 20_000)  # five batches
    (template / "payroll.yaml").write_text(PAYROLL_MAPPING)
    # An earlier extract is already stored: the run adds versions to a log that has entries.
    _payroll(template / "earlier.csv", 3_000)
    setup = subprocess.run(
        [sys.executable, "-m", "clearsight", "--db", "warehouse.duckdb", "--ledger", "ledger.sqlite", "ingest",
         "registry", "payroll", "earlier.csv", "-m", "payroll.yaml", "-d", "ministry"],
        cwd=template, capture_output=True, text=True, env=_environment(),
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    command = ["--db", "warehouse.duckdb", "--ledger", "ledger.sqlite", "ingest", "registry", "payroll",
               "payroll.csv", "-m", "payroll.yaml", "-d", "ministry", "--batch-rows", "4000", "--json"]  # fmt: skip
    kill_and_rerun(request, template, command, _registry_digest, tmp_path, seed=21)


# --- ledger append ------------------------------------------------------------------------------------------------


def _append_digest(folder: Path) -> dict[str, str]:
    digests = ledger_digest(folder / "ledger.sqlite", ("titles", "other"))
    _verify(folder, "titles")
    return digests


@pytest.mark.slow
@pytest.mark.reliability(
    "crash",
    "`ledger append` of 20,000 entries killed at 20 seeded points, then run again",
    "each entry in the log once, in order, the other log untouched; the log verifies",
)
def test_ledger_append_killed_anywhere_then_rerun_appends_each_entry_once(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    template = tmp_path / "template"
    template.mkdir()
    (template / "first.jsonl").write_text("".join(json.dumps({"title": n}) + "\n" for n in range(50)))
    (template / "titles.jsonl").write_text(
        "".join(json.dumps({"parcel": f"PX-{n:06d}", "owner": f"Owner {n % 977}", "area": n * 1.5}) + "\n"
                for n in range(20_000))
    )  # fmt: skip
    for log in ("titles", "other"):
        setup = subprocess.run(
            [sys.executable, "-m", "clearsight", "--ledger", "ledger.sqlite", "ledger", "append", "first.jsonl",
             "--log", log], cwd=template, capture_output=True, text=True, env=_environment(),
        )  # fmt: skip
        assert setup.returncode == 0, setup.stderr
    (template / "warehouse.duckdb").touch()  # watched like the other commands' warehouses (stays empty)
    command = ["--ledger", "ledger.sqlite", "ledger", "append", "titles.jsonl", "--log", "titles", "--json"]
    kill_and_rerun(request, template, command, _append_digest, tmp_path, seed=22)


# --- ingest bods -------------------------------------------------------------------------------------------------


def _bods_digest(folder: Path) -> dict[str, str]:
    db = folder / "warehouse.duckdb"
    tables = ("ownership_statements", "ownership_entities", "ownership_persons", "ownership_interests")
    digests = {table: table_digest(db, table, {"run_id", "load_order"}) for table in tables}
    digests["owed"] = table_digest(db, "ledger_pending", set())
    digests.update(ledger_digest(folder / "ledger.sqlite", ("ownership-bods",)))
    _verify(folder, "ownership-bods")
    return digests


@pytest.mark.slow
@pytest.mark.reliability(
    "crash",
    "`ingest bods` (the UK register's 223 files, 900 statements, onto an earlier load of the BODS 0.4 examples) "
    "killed with SIGKILL at 20 seeded points of what it writes, then run again",
    "statements, entities, persons, interests and the ledger's ownership-bods log identical to an uninterrupted "
    "run's; the log verifies",
)
def test_ingest_bods_killed_anywhere_then_rerun_gives_the_same_tables_and_ledger(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from tests.conftest import shared

    root = shared("ownership")
    register = root / "bluetail" / "bluetail" / "data" / "contracts_finder" / "bods" / "ch_id_openownership_bods"
    template = tmp_path / "template"
    (template / "uk").mkdir(parents=True)
    for path in sorted(register.glob("*.json")):
        shutil.copy(path, template / "uk" / path.name)
    base = [sys.executable, "-m", "clearsight", "--db", "warehouse.duckdb", "--ledger", "ledger.sqlite"]
    earlier = [str(path) for path in sorted((root / "bods-standard" / "examples").glob("*.json"))]
    setup = subprocess.run([*base, "ingest", "bods", *earlier, "-d", "owners"], cwd=template, capture_output=True,
                           text=True, env=_environment())  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    files = [f"uk/{path.name}" for path in sorted((template / "uk").glob("*.json"))]
    command = ["--db", "warehouse.duckdb", "--ledger", "ledger.sqlite", "ingest", "bods", *files, "-d", "owners",
               "--json"]  # fmt: skip
    kill_and_rerun(request, template, command, _bods_digest, tmp_path, seed=23)


# --- link registries and flags run ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registries_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = tmp_path_factory.mktemp("registries")
    base = [sys.executable, "-m", "clearsight", "--db", "warehouse.duckdb", "--ledger", "ledger.sqlite"]
    steps = [[sys.executable, "-m", "clearsight", "synth", "registries", "-n", "1500", "--seed", "5", "--out", "r"]]
    steps += [[*base, "ingest", "registry", kind, f"r/{kind}.csv", "-m", f"r/{kind}.yaml", "-d", "reg"]
              for kind in ("civil", "payroll", "beneficiaries", "voters", "companies")]  # fmt: skip
    steps.append([*base, "synth", "procurement", "-n", "1500", "--seed", "3", "--out", "p.jsonl"])
    steps.append([*base, "ingest", "ocds", "p.jsonl", "-d", "proc"])
    for step in steps:
        done = subprocess.run(step, cwd=template, capture_output=True, text=True, env=_environment())
        assert done.returncode == 0, f"{step}: {done.stderr}"
    return template


def _links_digest(folder: Path) -> dict[str, str]:
    db = folder / "warehouse.duckdb"
    volatile = {"run_id", "started_at", "seconds"}
    return {table: table_digest(db, table, volatile) for table in ("registry_links", "registry_link_runs")}


@pytest.mark.slow
@pytest.mark.reliability(
    "crash",
    "`link registries` (two linkages, one trained by EM) killed at 20 seeded points, then run again",
    "links and link runs identical to an uninterrupted run's",
)
def test_link_registries_killed_anywhere_then_rerun_gives_the_same_links(
    request: pytest.FixtureRequest, registries_template: Path, tmp_path: Path
) -> None:
    # Two linkages, one trained by EM (voters with themselves): their runs commit one after the other.
    command = ["--db", "warehouse.duckdb", "link", "registries", "-d", "reg", "--only", "payroll~civil,voters~voters",
               "--json"]  # fmt: skip
    kill_and_rerun(request, registries_template, command, _links_digest, tmp_path, seed=23)


def _flags_digest(folder: Path) -> dict[str, str]:
    """The latest run's verdicts and risk scores; no rows of runs that did not finish; every run in the ledger
    once (a run that finished before the kill is kept, as any finished run is: the latest one is compared)."""
    db = folder / "warehouse.duckdb"
    latest = "WHERE run_id = (SELECT max_by(run_id, started_at) FROM flag_runs)"
    volatile = {"run_id"}
    digests = {table: table_digest(db, table, volatile, latest) for table in ("flag_results", "risk_scores")}
    with DuckDBBackend(str(db), read_only=True) as backend:
        runs = {run for (run,) in backend.query("SELECT run_id FROM flag_runs")}
        digests["orphans"] = str(backend.query_value(
            "SELECT count(*) FROM flag_results WHERE run_id NOT IN (SELECT run_id FROM flag_runs)"
        ))  # fmt: skip
        digests["owed"] = str(backend.query_value("SELECT count(*) FROM ledger_pending"))
    connection = sqlite3.connect(folder / "ledger.sqlite")
    logged = [json.loads(entry)["run_id"] for (entry,) in connection.execute(
        "SELECT l.entry FROM ledger_leaves AS l JOIN ledger_logs AS g USING (log_id) WHERE g.name = 'flag-runs'"
    )]  # fmt: skip
    connection.close()
    digests["ledger"] = "every run once" if sorted(logged) == sorted(runs) else f"{sorted(logged)} != {sorted(runs)}"
    return digests


@pytest.mark.slow
@pytest.mark.reliability(
    "crash",
    "`flags run` killed at 20 seeded points, then run again",
    "the latest run's verdicts and risk scores identical; no rows of an unfinished run; every finished run in the "
    "ledger once",
)
def test_flags_run_killed_anywhere_then_rerun_gives_the_same_verdicts(
    request: pytest.FixtureRequest, registries_template: Path, tmp_path: Path
) -> None:
    command = ["--db", "warehouse.duckdb", "--ledger", "ledger.sqlite", "flags", "run", "-d", "proc", "--json"]
    kill_and_rerun(request, registries_template, command, _flags_digest, tmp_path, seed=24)
