"""Every indicator: its four files, its YAML cases, its documented demonstration, real data, profiles, CLI."""

from __future__ import annotations

import csv
import json
import math
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from clearsight.cli import app
from clearsight.engine import Backend, DuckDBBackend
from clearsight.flags.profile import Profile, ProfileError, load_profile
from clearsight.flags.registry import indicator, indicators
from clearsight.flags.runner import run_flags
from clearsight.ingest.pipeline import ingest_ocds
from clearsight.linkage.model import LinkOptions
from clearsight.linkage.registries import link_registries
from clearsight.network.build import build_network
from clearsight.ownership.bods import ingest_bods
from clearsight.registry.ingest import ingest_registry
from clearsight.registry.mapping import Mapping
from tests.conftest import REPO, shared

CODES = [item.code for item in indicators()]
SECTIONS = [
    "Methodology",
    "Example",
    "Why is this a red flag?",
    "Based on",
    "Output",
    "Configuration",
    "Exclusions",
    "Demonstration",
]


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Backend, str]]:
    """Each case runs on a fresh warehouse of each engine: DuckDB in memory, and (marked `spark`) a Spark warehouse
    folder of its own, on the session's Spark (indicators such as L010 read every dataset of a warehouse)."""
    if request.param == "duckdb":
        with DuckDBBackend(":memory:") as backend:
            yield backend, "case"
        return
    from clearsight.engine.spark_backend import SparkBackend

    request.getfixturevalue("spark_warehouse")  # skips without Java or PySpark; keeps Spark up between cases
    with SparkBackend(tmp_path / "spark-warehouse", master="local[2]", memory="1g") as backend:
        yield backend, "case"


def load_registries(
    backend: Backend, tmp_path: Path, registries: dict[str, list[dict[str, Any]]], dataset: str = "case"
) -> None:
    """Registry rows given with canonical field names, ingested through a mapping as a user's files would be."""
    for kind, rows in registries.items():
        columns = list(dict.fromkeys(key for row in rows for key in row))
        path = tmp_path / f"{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        mapping = Mapping(kind=kind, columns={column: column for column in columns})
        summary = ingest_registry(backend, path, mapping, dataset)
        assert summary.rejected_rows == 0, summary.to_dict()


def run_case(
    tmp_path: Path,
    releases: list[dict[str, Any]],
    code: str,
    params: dict[str, Any] | None = None,
    profile: dict[str, Any] | None = None,
    registries: dict[str, list[dict[str, Any]]] | None = None,
    engine: tuple[Backend, str] | None = None,
) -> list[dict[str, Any]]:
    """The flag results of one indicator on the given releases (and registries), on a warehouse of each engine."""
    if engine is None:
        with DuckDBBackend(":memory:") as backend:
            return run_case(tmp_path, releases, code, params, profile, registries, (backend, "case"))
    backend, dataset = engine
    path = tmp_path / "input.jsonl"
    path.write_text("".join(json.dumps(release) + "\n" for release in releases))
    settings = load_profile("default").model_dump()
    settings.update(profile or {})
    if params is not None:
        settings["indicators"][code] = {"params": params}
    ingest_ocds(backend, [str(path)], dataset, compiled=True, workers=1)
    registries = dict(registries or {})
    statements = registries.pop("bods", None)
    if statements:  # beneficial-ownership statements, ingested as a BODS file
        bods_path = tmp_path / "ownership.json"
        bods_path.write_text(json.dumps(statements))
        ownership = ingest_bods(backend, [bods_path], dataset)
        assert ownership.rejected == 0, ownership.to_dict()
    if registries:
        load_registries(backend, tmp_path, registries, dataset)
    if indicator(code).needs_network:
        build_network(backend, dataset, min_co_bids=1, min_jaccard=0.0)
    if indicator(code).needs_links and registries:
        # Fixtures are small: the model's prior parameters, no training, so the answer is deterministic.
        link_registries(
            backend, dataset, LinkOptions(train=False, candidate_threshold=0.01), list(indicator(code).needs_links)
        )
    summary = run_flags(backend, dataset, Profile(**settings), only=[code])
    return backend.query_dicts(
        "SELECT subject_type, subject_id, status, value, threshold, evidence FROM flag_results WHERE run_id = ?",
        [summary.run_id],
    )


def assert_rows(rows: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    for want in expected:
        matches = [
            row
            for row in rows
            if row["subject_type"] == want["subject_type"] and row["subject_id"] == str(want["subject_id"])
        ]
        assert matches, f"no row for {want}; rows: {rows}"
        assert {row["status"] for row in matches} == {want["status"]}, (want, matches)
        if "value" in want:
            assert any(
                row["value"] is not None and math.isclose(row["value"], want["value"], abs_tol=1e-9) for row in matches
            ), (want, matches)
    for row in rows:
        if row["status"] == "insufficient_data":
            assert json.loads(row["evidence"]).get("reason"), row
    # Exact about what is flagged: a flagged row the case does not list fails it.
    listed = {(want["subject_type"], str(want["subject_id"])) for want in expected}
    unexpected = [
        row for row in rows if row["status"] == "flagged" and (row["subject_type"], row["subject_id"]) not in listed
    ]
    assert unexpected == [], f"flagged but not listed in the case: {unexpected}"


def test_at_least_the_cardinal_indicators_are_registered() -> None:
    assert {"R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058"} <= set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_every_indicator_has_its_four_files(code: str) -> None:
    module = REPO / "src" / "clearsight" / "flags" / "indicators" / f"{code.lower()}.py"
    assert module.exists() and module.with_suffix(".sql").exists()
    cases = REPO / "tests" / "flags" / "cases" / f"{code}.yaml"
    assert yaml.safe_load(cases.read_text())["indicator"] == code
    page = (REPO / "docs" / "flags" / f"{code}.md").read_text()
    assert page.startswith("# ") and f"({code})" in page.splitlines()[0]
    headings = re.findall(r"^## (.+)$", page, flags=re.MULTILINE)
    assert headings == SECTIONS, f"docs/flags/{code}.md sections: {headings}"


def _cases() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((REPO / "tests" / "flags" / "cases").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        found += [(data["indicator"], case) for case in data["cases"]]
    return found


@pytest.mark.parametrize("code,case", _cases(), ids=lambda value: value if isinstance(value, str) else value["name"])
def test_yaml_cases(code: str, case: dict[str, Any], tmp_path: Path, engine: tuple[Backend, str]) -> None:
    rows = run_case(
        tmp_path,
        case.get("releases", []),
        code,
        case.get("params"),
        case.get("profile"),
        case.get("registries"),
        engine,
    )
    assert_rows(rows, case["expect"])


@pytest.mark.parametrize("code", CODES)
def test_documented_demonstration_runs(code: str, tmp_path: Path, engine: tuple[Backend, str]) -> None:
    page = (REPO / "docs" / "flags" / f"{code}.md").read_text()
    demonstration = page.split("## Demonstration", 1)[1]
    blocks = dict(re.findall(r"```(\w+)\n(.*?)```", demonstration, flags=re.DOTALL))
    releases = [json.loads(line) for line in blocks.get("jsonl", "").splitlines() if line.strip()]
    params = tomllib.loads(blocks["toml"])["indicators"][code]["params"] if "toml" in blocks else None
    registries = yaml.safe_load(blocks["yaml"]) if "yaml" in blocks else None
    rows = run_case(tmp_path, releases, code, params, registries=registries, engine=engine)
    assert_rows(rows, json.loads(blocks["json"]))


def test_every_indicator_runs_on_all_real_processes() -> None:
    with DuckDBBackend(":memory:") as backend:
        ingest_ocds(backend, [str(shared("ocds", "real-compiled"))], "real")
        summary = run_flags(backend, "real", load_profile("default"))
        assert set(summary.counts) == set(CODES)
        per_process = backend.query(
            "SELECT indicator, count(*) FROM flag_results WHERE subject_type = 'process' GROUP BY 1"
        )
        assert all(count == 605 for _, count in per_process)  # 610 processes, 5 cancelled
        assert (
            backend.query_value(
                "SELECT count(*) FROM flag_results WHERE status = 'insufficient_data' "
                "AND json_extract_string(evidence, '$.reason') IS NULL"
            )
            == 0
        )
        run = backend.query_dicts("SELECT profile, inputs, indicators FROM flag_runs")[0]
        assert run["profile"] == "default" and json.loads(run["inputs"])[0]["sha256"]


def test_profiles_are_validated() -> None:
    assert load_profile("cardinal").name == "cardinal"
    with pytest.raises(ValueError, match="unknown indicator codes"):
        Profile(name="x", indicators={"R999": {}})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="R003"):
        Profile(name="x", indicators={"R003": {"params": {"treshold": 3}}})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Profile(name="x", unknown_key=True)  # type: ignore[call-arg]


def test_profile_files_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "ua.toml"
    path.write_text('name = "ua"\n[indicators.R003.params]\nthreshold = "fifteen"\n')
    with pytest.raises(ProfileError, match=r"(?s)ua\.toml.*R003.*threshold"):
        load_profile(path)
    path.write_text(
        'name = "ua"\ncurrency = "UAH"\n[indicators.R003]\nlegal_basis = "Law 922-VIII, art. 26"\n'
        "[indicators.R003.params]\nthreshold = 7\n"
    )
    assert load_profile(path).params_for("R003").model_dump()["threshold"] == 7


def test_cli_list_explain_run_scaffold(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["flags", "list", "--json"]).stdout)
    assert [item["code"] for item in listed] == CODES
    by_code = {item["code"]: item for item in listed}
    assert by_code["R003"]["parameters"]["threshold"]["default"] == 15
    explained = runner.invoke(app, ["flags", "explain", "R036"])
    assert explained.exit_code == 0 and "Lowest bid disqualified" in explained.stdout
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"ocid": "a", "tender": {"procurementMethod": "open", "numberOfTenderers": 1}}) + "\n")
    db = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["--db", db, "ingest", "ocds", str(data), "--compiled"]).exit_code == 0
    result = runner.invoke(app, ["--db", db, "flags", "run", "--only", "R018,R003", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["R018"]["flagged"] == 1 and set(summary["counts"]) == {"R018", "R003"}
    missing = runner.invoke(app, ["--db", db, "flags", "run", "--dataset", "nope"])
    assert missing.exit_code == 2
    created = runner.invoke(app, ["flags", "scaffold", "R099", "--title", "Something odd", "--root", str(tmp_path)])
    assert created.exit_code == 0, created.output
    assert (tmp_path / "src" / "clearsight" / "flags" / "indicators" / "r099.sql").exists()
    assert (tmp_path / "docs" / "flags" / "R099.md").read_text().count("## ") == len(SECTIONS)
    again = runner.invoke(app, ["flags", "scaffold", "R099", "--title", "x", "--root", str(tmp_path)])
    assert again.exit_code == 2


def test_rules_apply_within_their_validity(tmp_path: Path, engine: tuple[Backend, str]) -> None:
    """Rows of processes dated outside a rule's validity are not_applicable, saying why (on every engine: no UPDATE)."""
    releases = [
        {
            "ocid": ocid,
            "tender": {"procurementMethod": "open", "numberOfTenderers": 1, "tenderPeriod": {"startDate": start}},
        }
        for ocid, start in (("before", "2023-06-01T00:00:00Z"), ("after", "2024-06-01T00:00:00Z"))
    ] + [{"ocid": "undated", "tender": {"procurementMethod": "open", "numberOfTenderers": 1}}]
    rows = run_case(
        tmp_path,
        releases,
        "R018",
        profile={
            "indicators": {
                "R018": {
                    "valid_from": "2024-01-01",
                    "valid_to": "2030-12-31",
                    "legal_basis": "Public Procurement Act 2023, art. 12",
                }
            }
        },
        engine=engine,
    )
    by_ocid = {row["subject_id"]: row for row in rows}
    assert sorted(by_ocid) == ["after", "before", "undated"]
    assert len(rows) == 3
    assert {ocid: row["status"] for ocid, row in by_ocid.items()} == {
        "after": "flagged",
        "before": "not_applicable",
        "undated": "flagged",  # no date: nothing says the rule did not apply
    }
    reason = json.loads(by_ocid["before"]["evidence"])["reason"]
    assert reason == "outside the validity of the rule (2024-01-01..2030-12-31; Public Procurement Act 2023, art. 12)"
    # The rows the rule applies to keep their evidence as the indicator wrote it; the others keep it too, with why.
    after = json.loads(by_ocid["after"]["evidence"])
    assert after == {"number_of_tenderers": 1, "procurement_method": "open", "reason": None}
    assert json.loads(by_ocid["before"]["evidence"]) == {"reason": reason, "evidence": after}


def test_the_index_lists_every_indicator() -> None:
    index = (REPO / "docs" / "flags" / "README.md").read_text()
    assert all(f"[{code}]({code}.md)" in index for code in CODES)
    assert len(CODES) >= 41
