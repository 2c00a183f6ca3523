"""The Spark backend: DuckDB SQL translated for Spark gives DuckDB's answers, on a real local Spark session.

Marked `spark` (run by `make test` and in CI; needs Java 17 and PySpark, and skips saying so without them).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clearsight.cli import app as cli
from clearsight.engine import DuckDBBackend
from clearsight.engine.transfer import copy_tables
from clearsight.flags.profile import Profile, load_profile
from clearsight.flags.registry import indicators
from clearsight.flags.runner import run_flags
from clearsight.ingest.quality import quality_report
from clearsight.model import (
    ALL_TABLES,
    CONTRACTING_TABLES,
    INGEST_FILES,
    INGEST_REJECTS,
    QUALITY_ISSUES,
    SOURCE_RELEASES,
)
from clearsight.report.export import export_results
from clearsight.report.html import build_report
from tests.conftest import OCDS as SHARED_OCDS
from tests.conftest import shared, synthetic_warehouse
from tests.flags.test_cardinal_parity import (
    DOC_EXAMPLES,
    _fixtures,
    assert_like_documentation,
    assert_like_fixture,
    fixture_params,
    flagged_like_cardinal,
)

pytestmark = pytest.mark.spark

# Registry checks (L…) read Splink's linkage; on Spark they wait for Splink's Spark backend.
PROCUREMENT = [item.code for item in indicators() if not item.code.startswith("L")]


@pytest.fixture(scope="module")
def spark_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine (Spark needs Java 17)")
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install -e '.[test]')")
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="module")
def spark(spark_folder: Path) -> Iterator[Any]:
    from clearsight.engine.spark_backend import SparkBackend

    backend = SparkBackend(spark_folder / "warehouse", master="local[2]", memory="1g")
    yield backend
    backend.close()


def _close(a: Any, b: Any) -> bool:
    """Equal, with floats equal to 1e-9 relative (engines add floating-point numbers in different orders)."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT to_json({'at': TIMESTAMPTZ '2024-01-31 09:30:00+00', 'none': NULL, 'n': 2.5}) AS v",
        "SELECT CAST(to_json({'a': 1}) AS JSON) AS v",
        "SELECT epoch(TIMESTAMPTZ '2024-01-31 09:30:00.25+00') AS v",
        "SELECT trunc((epoch(TIMESTAMPTZ '2024-02-01') - epoch(TIMESTAMPTZ '2024-01-01 12:00:00')) / 86400) AS v",
        "SELECT 1.0 / 3 AS v",
        "SELECT quantile_cont(CAST(x AS DOUBLE), 0.25) AS v FROM (VALUES (1), (2), (4), (10)) AS t(x)",
        "SELECT list(x ORDER BY y DESC, x) AS v FROM (VALUES ('a', 1), ('b', 3), ('c', 3), ('d', NULL)) AS t(x, y)",
        "SELECT list(x) FILTER (WHERE x > 'z') AS v FROM (VALUES ('a'), ('b')) AS t(x)",
        "SELECT array_length(CAST(NULL AS VARCHAR[])) AS v",
        "SELECT CAST(try_strptime('2024-13' || '-01', '%Y-%m-%d') AS DATE) AS v",
        "SELECT CAST(try_strptime('2024-02' || '-01', '%Y-%m-%d') AS DATE) AS v",
        "SELECT list_sort(['b', 'a', 'c']) AS v",
        "SELECT arg_max(x, y) AS v FROM (VALUES ('a', 1), ('b', 3)) AS t(x, y)",
        "SELECT list(DISTINCT x ORDER BY x) AS v FROM (VALUES ('b'), ('a'), ('b'), ('c')) AS t(x)",
        "SELECT date_add(DATE '2020-02-29', to_years(CAST(x AS INTEGER) + 1)) AS v FROM (VALUES (2)) AS t(x)",
        "SELECT date_diff('year', DATE '2020-12-31', DATE '2021-01-01') AS v",
        "SELECT date_diff('month', DATE '2019-12-31', DATE '2021-01-01') AS v",
        "SELECT jaro_winkler_similarity('martha', 'marhta') AS v",
        "SELECT (list(x ORDER BY x DESC))[2:3] AS v FROM (VALUES ('a'), ('b'), ('c'), ('d')) AS t(x)",
        "SELECT ['a', 'b', 'c'][:2] AS v",
        "SELECT strip_accents('Łódź São Paulo Ñandú') AS v",
        "SELECT kurtosis(x) AS v FROM (VALUES (1.0), (2.0), (4.0), (10.0), (11.5)) AS t(x)",
        "SELECT skewness(x) AS v FROM (VALUES (1.0), (2.0), (4.0), (10.0), (11.5)) AS t(x)",
        "SELECT kurtosis(x) AS v FROM (VALUES (1.0), (2.0), (4.0)) AS t(x)",
        "SELECT skewness(x) AS v FROM (VALUES (1.0), (3.0)) AS t(x)",
        "SELECT array_length(array_intersect(string_split('a b', ' '), string_split('b c', ' '))) AS v",
    ],
)
def test_translated_sql_gives_duckdb_answers(spark: Any, sql: str) -> None:
    with DuckDBBackend(":memory:") as duck:
        expected = duck.query(sql)
    got = spark.query(sql)
    if isinstance(expected[0][0], str) and expected[0][0].startswith("{"):
        assert json.loads(got[0][0]) == json.loads(expected[0][0]), (got, expected)
    else:
        assert _close(list(got[0]), list(expected[0])), (got, expected)


INGEST_TABLES = (*CONTRACTING_TABLES, SOURCE_RELEASES, QUALITY_ISSUES, INGEST_REJECTS, INGEST_FILES)
SUMMARY_FIELDS = (
    "objects_read", "releases_read", "new_releases", "duplicate_releases", "processes_written", "processes_failed",
    "rejected", "blank", "quality_issues", "reject_reasons", "quality_issue_counts", "bytes_read", "skipped_files",
)  # fmt: skip


def _ingested(backend: Any, dataset: str) -> dict[str, list[str]]:
    """Every row an ingest wrote for a dataset (run ids aside), comparable across engines: timestamps as epoch
    seconds to the microsecond, rows sorted."""
    out = {}
    for table in INGEST_TABLES:
        columns = [column for column in table.columns if column.name not in ("run_id", "ingest_run_id")]
        selected = ", ".join(
            f"epoch({column.name})" if column.type == "TIMESTAMPTZ" else column.name for column in columns
        )
        rows = backend.query(f"SELECT {selected} FROM {table.name} WHERE dataset = ?", [dataset])
        out[table.name] = sorted(repr(tuple(round(v, 6) if isinstance(v, float) else v for v in row)) for row in rows)
    return out


def _assert_same_rows(got: dict[str, list[str]], want: dict[str, list[str]]) -> None:
    for table, rows in want.items():
        missing = sorted(set(rows) - set(got[table]))[:3]
        extra = sorted(set(got[table]) - set(rows))[:3]
        assert got[table] == rows, f"{table}: {len(got[table])} rows, {len(rows)} wanted; {missing=} {extra=}"


def _awkward_inputs(folder: Path) -> list[str]:
    """Synthetic compiled releases among everything an ingest must account for, as one JSON Lines file large
    enough to be split; the same file gzipped (`.gz`: every release a duplicate); and gzip without `.gz`."""
    from clearsight.synth.procurement import generate_procurement

    source = folder / "synthetic.jsonl"
    generate_procurement(300, 5, source, folder / "synthetic.truth.csv")
    lines = source.read_bytes().splitlines()
    source.unlink()
    first = json.loads(lines[0])
    update = {"ocid": first["ocid"], "id": "update-1", "date": "2030-01-01T00:00:00Z", "tag": ["tenderUpdate"],
              "tender": {"title": "Renamed", "value": {"amount": "1,000.50", "currency": "usd"}}}  # fmt: skip
    package = {
        "releases": [
            {
                "ocid": "ocds-merge-1",
                "id": "a",
                "date": "2024-01-01T00:00:00Z",
                "tag": ["tender"],
                "tender": {"id": "t", "title": "First", "value": {"amount": 10, "currency": "EUR"}},
            },
            {
                "ocid": "ocds-merge-1",
                "id": "b",
                "date": "2024-02-01T00:00:00Z",
                "tag": ["award"],
                "awards": [{"id": "w", "status": "active", "suppliers": [{"id": "S1", "name": "S"}]}],
            },
        ]
    }
    record = {
        "ocid": "ocds-record-1",
        "releases": [{"url": "x", "date": "2024-01-01"}],
        "compiledRelease": {
            "ocid": "ocds-record-1",
            "date": "2024-03-01T00:00:00Z",
            "tender": {"status": "active", "tenderPeriod": {"endDate": "01/02/2024"}},
        },
    }
    contradictory = {"ocid": "ocds-merge-1", "id": "c", "date": "2024-03-01T00:00:00Z", "awards": "not a list"}
    extra = [
        b"",
        b"   ",
        b"{not json",
        json.dumps({"id": "no-ocid", "date": "2024-01-01"}).encode(),
        b'{"ocid": "ocds-bad-utf8", "date": "2024-01-01", "title": "' + bytes([0xFF, 0xFE]) + b'"}',
        *(json.dumps(value).encode() for value in (package, record, contradictory, update)),
        lines[7],  # a duplicate
    ]
    mixed: list[bytes] = []
    for index, line in enumerate(lines):
        mixed.append(line)
        if index % 30 == 0 and extra:
            mixed.append(extra.pop(0))
    mixed += extra
    body = b"\n".join(mixed) + b"\n"
    plain = folder / "awkward.jsonl"
    plain.write_bytes(body)
    (folder / "awkward-copy.jsonl.gz").write_bytes(gzip.compress(body))
    (folder / "disguised.jsonl").write_bytes(gzip.compress(b"\n".join(lines[:20]) + b"\n"))
    return [str(plain), str(folder / "awkward-copy.jsonl.gz"), str(folder / "disguised.jsonl")]


def test_ocds_ingest_on_spark_stores_what_duckdb_stores(spark: Any, tmp_path: Path) -> None:
    """The same inputs ingested on both engines leave the same rows in every ingest table, and the same summary:
    releases to merge, records, packages, duplicates, bad lines (with their line numbers, the file split across
    many Spark tasks), gzip; then a newer release of known processes replaces their rows."""
    from clearsight.ingest.pipeline import ingest_ocds

    paths = _awkward_inputs(tmp_path)
    real = SHARED_OCDS / "real-examples"
    if real.exists():
        paths.append(str(real))  # twelve publishers: release and record packages, pretty-printed documents
    spark.session.conf.set("spark.sql.files.maxPartitionBytes", "65536")  # ~16 tasks for the synthetic file
    try:
        with DuckDBBackend(":memory:") as duck:
            expected = ingest_ocds(duck, paths, "ingest", workers=1)
            got = ingest_ocds(spark, paths, "ingest")
            for field in SUMMARY_FIELDS:
                assert getattr(got, field) == getattr(expected, field), field
            assert [(f.path, f.sha256, f.objects_read, f.rejected, f.blank) for f in got.files] == [
                (f.path, f.sha256, f.objects_read, f.rejected, f.blank) for f in expected.files
            ]
            assert expected.rejected >= 5 and expected.blank >= 2 and expected.duplicate_releases > 300
            want = _ingested(duck, "ingest")
            _assert_same_rows(_ingested(spark, "ingest"), want)

            # Known processes updated (the dataset's partitions rewritten), unrelated rows kept.
            newer = tmp_path / "newer.jsonl"
            newer.write_text(
                json.dumps({"ocid": "ocds-merge-1", "id": "d", "date": "2024-04-01T00:00:00Z",
                            "tender": {"title": "Last"}}) + "\n"
            )  # fmt: skip
            ingest_ocds(duck, [str(newer)], "ingest", workers=1)
            ingest_ocds(spark, [str(newer)], "ingest")
            updated = _ingested(duck, "ingest")
            assert updated != want
            _assert_same_rows(_ingested(spark, "ingest"), updated)
            # Running the same input again changes nothing but the record of the runs.
            assert ingest_ocds(spark, [str(newer)], "ingest").new_releases == 0
            again = _ingested(spark, "ingest")
            assert again.pop(INGEST_FILES.name) != updated.pop(INGEST_FILES.name)
            _assert_same_rows(again, updated)
    finally:
        spark.session.conf.unset("spark.sql.files.maxPartitionBytes")


def test_tables_outlive_the_spark_session(spark_folder: Path) -> None:
    from clearsight.engine.spark_backend import SparkBackend

    folder = spark_folder / "persist"
    first = SparkBackend(folder, master="local[1]", memory="1g")
    first.execute("INSERT INTO ingest_rejects (dataset, file, reason) VALUES ('d', 'f.json', 'bad')")
    first.execute("CREATE OR REPLACE TEMP TABLE _left_behind AS SELECT 1 AS v")  # as by a process that died
    first.close()
    second = SparkBackend(folder, master="local[1]", memory="1g", config={"spark.sql.shuffle.partitions": "3"})
    assert second.query("SELECT dataset, file, reason FROM ingest_rejects") == [("d", "f.json", "bad")]
    assert second.session.conf.get("spark.sql.shuffle.partitions") == "3"  # --spark-conf
    second.execute("CREATE OR REPLACE TEMP TABLE _left_behind AS SELECT 2 AS v")  # its old folder is gone
    assert second.query("SELECT v FROM _left_behind") == [(2,)]
    second.close()


def test_tables_go_to_spark_and_back_unchanged(spark: Any, spark_folder: Path) -> None:
    """DuckDB → Spark through Parquet that DuckDB writes and Spark's executors read; Spark → DuckDB through Arrow
    batches (Spark's export is the generic one) that DuckDB reads from Parquet; every table's rows are as they
    were. The generic Parquet reader (engines without one of their own) loads the same rows too."""
    from clearsight.engine.base import Backend
    from clearsight.engine.spark_backend import SparkBackend

    db = synthetic_warehouse(spark_folder, 40, 5, "flags", "network", dataset="trip")
    there = SparkBackend(spark_folder / "round-trip", master="local[2]", memory="1g")
    try:
        with DuckDBBackend(db) as duck, DuckDBBackend(":memory:") as back:
            sent = copy_tables(duck, there, ALL_TABLES, "trip")
            received = copy_tables(there, back, ALL_TABLES, "trip")
            assert sent == received and sent["processes"] == 40 and sent["flag_results"] > 1000
            for table in ALL_TABLES:
                if not sent.get(table.name):
                    continue
                columns = ", ".join(
                    f"CAST({column.name} AS VARCHAR)" if column.type == "JSON" else column.name
                    for column in table.columns
                )
                query = f"SELECT {columns} FROM {table.name} ORDER BY ALL"
                assert back.query(query) == duck.query(query), table.name
            folder = spark_folder / "generic-parquet"
            processes = next(table for table in ALL_TABLES if table.name == "processes")
            names = [column.name for column in processes.columns]
            duck.export_parquet(f"SELECT {', '.join(names)} FROM processes", folder)
            back.execute("DELETE FROM processes")
            Backend.append_parquet(back, "processes", folder, names)
            query = f"SELECT {', '.join(names)} FROM processes ORDER BY ALL"
            assert back.query(query) == duck.query(query)
    finally:
        there.close()


def test_every_indicator_and_risk_score_is_the_same_on_spark(spark: Any, spark_folder: Path) -> None:
    db = synthetic_warehouse(spark_folder, 300, 9, "network")

    profile = load_profile()
    with DuckDBBackend(db) as duck:
        copy_tables(duck, spark, ALL_TABLES, "syn")
        on_duckdb = run_flags(duck, "syn", profile, only=PROCUREMENT)
        columns = "indicator, subject_type, subject_id, ocid, status, value, threshold, evidence"
        expected = duck.query(f"SELECT {columns} FROM flag_results WHERE run_id = ?", [on_duckdb.run_id])
        risk_columns = "subject_type, subject_id, status, cri, weighted_score, components, flagged, rank"
        expected_risk = duck.query(f"SELECT {risk_columns} FROM risk_scores WHERE run_id = ?", [on_duckdb.run_id])
        duck_report = build_report(duck, "syn", on_duckdb.run_id)
        duck_quality = quality_report(duck, "syn")
        for suffix in ("parquet", "csv", "json"):
            export_results(duck, on_duckdb.run_id, spark_folder / f"duck.{suffix}")
    on_spark = run_flags(spark, "syn", profile, only=PROCUREMENT)
    assert on_spark.counts == on_duckdb.counts
    got = spark.query(f"SELECT {columns} FROM flag_results WHERE run_id = ?", [on_spark.run_id])
    assert len(got) == len(expected) > 10_000
    by_key = {row[:4]: row for row in got}
    different = []
    for row in expected:
        other = by_key.get(row[:4])
        same = other is not None and row[4] == other[4] and _close(row[5], other[5]) and _close(row[6], other[6])
        same = same and _close(json.loads(row[7]), json.loads(other[7]))  # type: ignore[index]
        if not same:
            different.append((row, other))
    assert different == [], different[:3]
    got_risk = {
        row[:2]: row
        for row in spark.query(f"SELECT {risk_columns} FROM risk_scores WHERE run_id = ?", [on_spark.run_id])
    }
    assert len(got_risk) == len(expected_risk)
    for row in expected_risk:
        assert _close(list(row), list(got_risk[row[:2]])), (row, got_risk[row[:2]])
    # The HTML report reads the same results the same way on both engines: only run ids and times differ.
    spark_report = build_report(spark, "syn", on_spark.run_id)

    def comparable(html: str, run_id: str) -> str:
        return re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?[^<\s]*", "TIME", html.replace(run_id, "RUN"))

    assert comparable(spark_report, on_spark.run_id) == comparable(duck_report, on_duckdb.run_id)
    assert quality_report(spark, "syn") == duck_quality
    # Exports: DuckDB's writers and the generic ones (Spark's) hold the same rows in the same order.
    for suffix in ("parquet", "csv", "json"):
        export_results(spark, on_spark.run_id, spark_folder / f"spark.{suffix}")
    exported = {}
    for name in ("duck", "spark"):
        parquet = pq.read_table(spark_folder / f"{name}.parquet").drop_columns(["run_id"]).to_pylist()
        with (spark_folder / f"{name}.csv").open(encoding="utf-8") as handle:
            from_csv = [row["subject_id"] for row in csv.DictReader(handle)]
        from_json = json.loads((spark_folder / f"{name}.json").read_text())
        assert from_csv == [row["subject_id"] for row in from_json] == [row["subject_id"] for row in parquet]
        exported[name] = [{**row, "evidence": json.loads(row["evidence"])} for row in parquet]
        assert [row["evidence"] for row in from_json] == [row["evidence"] for row in exported[name]]  # nested
    assert len(exported["spark"]) == len(exported["duck"]) > 10_000
    assert all(_close(a, b) for a, b in zip(exported["duck"], exported["spark"], strict=True))


def test_bid_screens_and_cartel_probabilities_are_the_same_on_spark(spark: Any, spark_folder: Path) -> None:
    """The screens (distribution statistics of each tender's bids, Spark's population kurtosis and skewness turned
    into DuckDB's sample ones), the firms bidding twice, the default score and a trained model's probabilities,
    tender by tender."""
    from clearsight.screens.classifier import shipped_model_path
    from clearsight.screens.files import load_model
    from clearsight.screens.run import run_screens
    from clearsight.screens.sql import SCREEN_COLUMNS

    db = synthetic_warehouse(spark_folder, 400, 11, dataset="screens")
    columns = f"ocid, lot_id, status, reason, {', '.join(SCREEN_COLUMNS)}, score, cartel_probability"
    model = load_model(shipped_model_path())
    with DuckDBBackend(db) as duck:
        copy_tables(duck, spark, ALL_TABLES, "screens")
        on_duckdb = run_screens(duck, "screens", load_profile(), model=model)
        expected = duck.query(f"SELECT {columns} FROM screen_results WHERE run_id = ? ORDER BY ALL", [on_duckdb.run_id])
    on_spark = run_screens(spark, "screens", load_profile(), model=model)
    got = spark.query(f"SELECT {columns} FROM screen_results WHERE run_id = ? ORDER BY ALL", [on_spark.run_id])
    counts = ("screened", "insufficient", "out_of_domain", "scored")
    assert [getattr(on_spark, name) for name in counts] == [getattr(on_duckdb, name) for name in counts]
    assert on_duckdb.screened > 100 and sum(row[-1] is not None for row in expected) == on_duckdb.screened
    assert sum(row[-2] is not None for row in expected) == on_duckdb.screened
    assert len(got) == len(expected)
    for want, row in zip(expected, got, strict=True):
        assert _close(list(row), list(want)), (row, want)


def test_supplier_network_is_the_same_on_spark(spark: Any, spark_folder: Path) -> None:
    """Links, communities and their scores on Spark are DuckDB's, identifiers from a file included; building again
    replaces the dataset's network (Spark overwrites its partition) rather than adding to it."""
    from clearsight.network.build import build_network

    db = synthetic_warehouse(spark_folder, 300, 13, dataset="net")
    edges = "SELECT dataset, source, target, kind, weight, evidence FROM network_edges WHERE dataset = 'net'"
    groups = """SELECT group_id, members, size, joint_processes, member_win_share, distinct_winners, rotation,
                       shared_identifier_links, score, evidence FROM network_groups WHERE dataset = 'net'"""
    identifiers = spark_folder / "register.csv"
    with DuckDBBackend(db) as duck:
        firms = [row[0] for row in duck.query("SELECT DISTINCT supplier_id FROM award_suppliers ORDER BY 1 LIMIT 4")]
        identifiers.write_text(
            "party_id,kind,value\n"
            f"{firms[0]},Bank account,GB29 0001\n{firms[1]},bank account,gb29 0001\n{firms[2]},director,\n"
            f",owner,X\n{firms[2]},director,Jane Roe\n{firms[3]},director,JANE ROE\n"
        )
        copy_tables(duck, spark, ALL_TABLES, "net")
        expected = build_network(duck, "net", identifiers=identifiers)
        want_edges, want_groups = sorted(duck.query(edges)), sorted(duck.query(groups))
    assert expected.identifiers_rejected == {"empty party_id": 1, "empty value": 1} and len(want_groups) > 3
    for _ in range(2):
        got = build_network(spark, "net", identifiers=identifiers)
        assert got == expected
        assert sorted(spark.query(edges)) == want_edges
        got_groups = sorted(spark.query(groups))
        assert len(got_groups) == len(want_groups)
        assert all(_close(list(a), list(b)) for a, b in zip(got_groups, want_groups, strict=True))


def test_cli_loads_a_duckdb_warehouse_and_runs_flags_on_spark(spark_folder: Path) -> None:
    runner = CliRunner()
    data = spark_folder / "cli.jsonl"
    db = str(spark_folder / "cli.duckdb")
    folder = str(spark_folder / "cli-warehouse")
    for command in (
        ["synth", "procurement", "-n", "60", "--seed", "4", "--out", str(data)],
        ["--db", db, "ingest", "ocds", str(data), "-d", "syn"],
    ):
        assert runner.invoke(cli, command).exit_code == 0
    spark = ["--engine", "spark", "--spark-master", "local[1]", "--db", folder]
    refused = runner.invoke(cli, [*spark, "serve"])
    assert refused.exit_code == 2 and "DuckDB only" in refused.output
    # OCDS straight into Spark (its own ingest), or a DuckDB warehouse's tables copied (`load`).
    ingested = runner.invoke(cli, [*spark, "ingest", "ocds", str(data), "-d", "native", "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.output)["processes_written"] == 60
    loaded = runner.invoke(cli, [*spark, "load", db, "--json"])
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.output)["rows"]["processes"] == 60
    ran = runner.invoke(cli, [*spark, "flags", "run", "-d", "syn", "--only", "R003,C001", "--json"])
    assert ran.exit_code == 0, ran.output
    counts = json.loads(ran.output)["counts"]
    assert set(counts) == {"R003", "C001"} and sum(counts["R003"].values()) == 60
    report = runner.invoke(cli, [*spark, "report", "-d", "syn", "--out", str(spark_folder / "report.html"), "--json"])
    assert report.exit_code == 0, report.output
    assert "R003" in (spark_folder / "report.html").read_text(encoding="utf-8")
    export = runner.invoke(cli, [*spark, "flags", "export", str(spark_folder / "out.csv"), "-d", "syn", "--json"])
    assert export.exit_code == 0, export.output
    with (spark_folder / "out.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == json.loads(export.output)["rows"] > 0
    # The registry checks run on Spark too: this dataset has no registries, so they judge nothing.
    registry = runner.invoke(cli, [*spark, "flags", "run", "-d", "syn", "--only", "L001", "--json"])
    assert registry.exit_code == 0, registry.output
    assert sum(json.loads(registry.output)["counts"]["L001"].values()) == 0
    network = runner.invoke(cli, [*spark, "network", "build", "-d", "native", "--json"])
    assert network.exit_code == 0, network.output
    assert json.loads(network.output)["suppliers"] > 0
    screens = runner.invoke(cli, [*spark, "screens", "run", "-d", "native", "--json"])
    assert screens.exit_code == 0, screens.output
    assert json.loads(screens.output)["screened"] > 0
    summary = runner.invoke(cli, [*spark, "summary", "--json"])
    assert summary.exit_code == 0
    assert json.loads(summary.output)["tables"]["syn"]["processes"] == 60
    assert json.loads(summary.output)["tables"]["native"]["processes"] == 60


def test_registries_linked_and_checked_on_spark_as_on_duckdb(spark: Any, spark_folder: Path) -> None:
    """Registries linked with Splink's Spark backend and checked there (L001–L010) give every record the status
    DuckDB gives it. The pairs and their weights are DuckDB's except where a name's Jaro-Winkler similarity sits
    at a level's threshold: the Spark function (Splink's jar) counts half transpositions exactly where DuckDB
    rounds them down, so such a pair lands one name level apart (its weight differs; its verdict did not here)."""
    from clearsight.linkage.model import LinkOptions
    from clearsight.linkage.registries import link_registries
    from clearsight.registry.ingest import ingest_registry
    from clearsight.registry.mapping import load_mapping
    from clearsight.synth.registries import generate_registries

    out = spark_folder / "registries"
    generate_registries(out, 2000, seed=3, months=2)
    settings = load_profile("default").model_dump()
    for code in ("L006", "L009"):
        settings["indicators"][code] = {"params": {"as_of": "2026-10-01"}}
    profile = Profile(**settings)
    codes = [f"L{number:03d}" for number in range(1, 11)]
    # The prior model (no training): Splink's seeded sampling differs between engines, the comparisons do not.
    options = LinkOptions(threshold=0.9, candidate_threshold=0.5, candidate_min_evidence=6.0, train=False)
    links = "SELECT linkage, left_id, right_id, match_weight, explanation FROM registry_links WHERE run_id = ?"
    results = "SELECT indicator, subject_id, status, value, evidence FROM flag_results WHERE run_id = ?"
    # A later extract of the civil registry: a record changed, a date that does not parse, a repeated record.
    lines = (out / "civil.csv").read_text(encoding="utf-8").splitlines()
    changed = lines[1].replace(lines[1].split(",")[2], "Renamed", 1)
    bad_date = lines[2].replace(lines[2].split(",")[5], "31/31/1990", 1)
    (out / "civil-later.csv").write_text("\n".join([lines[0], changed, bad_date, lines[3], lines[3]]) + "\n")
    records = "SELECT kind, record_id, version, record_hash, canonical, source_file, source_line FROM registry_records"
    rejects = "SELECT kind, source_file, source_line, column_name, value, reason FROM registry_rejects"
    with DuckDBBackend(":memory:") as duck:
        # Registry ingest on each engine: the same records (their canonical text is the ledger's, byte for byte),
        # versions and rejects.
        for backend in (duck, spark):
            for kind in ("civil", "payroll", "beneficiaries", "voters", "companies"):
                ingest_registry(backend, out / f"{kind}.csv", load_mapping(out / f"{kind}.yaml", kind), "reg")
            later = ingest_registry(backend, out / "civil-later.csv", load_mapping(out / "civil.yaml", "civil"), "reg")
            assert (later.new_versions, later.unchanged, later.rejected_rows) == (1, 1, 2)
        for sql in (records, rejects):
            assert sorted(spark.query(sql + " WHERE dataset = 'reg'")) == sorted(duck.query(sql))
        on_duckdb = {run.linkage: run for run in link_registries(duck, "reg", options)}
        expected_links = {row[:3]: row for run in on_duckdb.values() for row in duck.query(links, [run.run_id])}
        checked = run_flags(duck, "reg", profile, only=codes)
        expected = {row[:2]: row for row in duck.query(results, [checked.run_id])}
    on_spark = {run.linkage: run for run in link_registries(spark, "reg", options)}
    assert not list((Path(spark.path) / "_linkage").glob("__splink__*"))  # Splink's scratch tables are gone
    assert {name: run.pairs for name, run in on_spark.items()} == {name: run.pairs for name, run in on_duckdb.items()}
    got_links = {row[:3]: row for run in on_spark.values() for row in spark.query(links, [run.run_id])}
    assert got_links.keys() == expected_links.keys() and len(got_links) > 1000
    moved = [key for key, row in expected_links.items() if not _close(row[3], got_links[key][3])]
    for key in moved:  # only a name level next to a Jaro-Winkler threshold may differ
        levels = {json.loads(row[4])["fields"]["name"]["level"] for row in (expected_links[key], got_links[key])}
        assert len(levels) == 2 and any("Jaro-Winkler" in level for level in levels), (key, levels)
    assert len(moved) <= len(expected_links) // 100
    checked_on_spark = run_flags(spark, "reg", profile, only=codes)
    assert checked_on_spark.counts == checked.counts
    got = {row[:2]: row for row in spark.query(results, [checked_on_spark.run_id])}
    assert got.keys() == expected.keys()
    assert all(got[key][2] == row[2] for key, row in expected.items())
    differing = [key for key, row in expected.items() if not _close(json.loads(row[4]), json.loads(got[key][4]))]
    assert len(differing) <= len(expected) // 100, differing[:5]


@pytest.fixture(scope="module")
def cardinal_on_spark(spark: Any, spark_folder: Path) -> Any:
    """Every Cardinal fixture and documentation example as its own dataset, ingested once and copied to Spark."""
    from clearsight.ingest.pipeline import ingest_ocds

    shared("ocds", "cardinal-fixtures")
    with DuckDBBackend(str(spark_folder / "cardinal.duckdb")) as duck:
        for path in _fixtures():
            ingest_ocds(duck, [str(path)], path.stem, compiled=True, workers=1)
        for number in DOC_EXAMPLES:
            path = shared("ocds", "cardinal-fixtures", "docs-examples", "R", f"{number}.jsonl")
            ingest_ocds(duck, [str(path)], f"doc-R{number}", compiled=True, workers=1)
        copy_tables(duck, spark, ALL_TABLES)
    return spark


@pytest.mark.parametrize("path", _fixtures(), ids=lambda path: path.stem)
def test_cardinal_fixtures_on_spark(cardinal_on_spark: Any, path: Path) -> None:
    code, params = fixture_params(path.stem)
    expected = json.loads(path.with_suffix(".expected").read_text())
    got, unexplained = flagged_like_cardinal(cardinal_on_spark, path.stem, code, params)
    assert_like_fixture(got, expected, code, unexplained)


@pytest.mark.parametrize("number", sorted(DOC_EXAMPLES))
def test_cardinal_documentation_examples_on_spark(cardinal_on_spark: Any, number: str) -> None:
    params, expected = DOC_EXAMPLES[number]
    got, _ = flagged_like_cardinal(cardinal_on_spark, f"doc-R{number}", f"R{number}", params)
    assert_like_documentation(got, expected, f"R{number}")
