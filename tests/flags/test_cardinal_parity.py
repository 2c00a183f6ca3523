"""Cardinal parity: the same fixtures give the same flagged results as Cardinal's expected outputs."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from clearsight.engine import Backend, DuckDBBackend
from clearsight.flags.profile import Profile, load_profile
from clearsight.flags.runner import run_flags
from clearsight.ingest.pipeline import ingest_ocds
from tests.conftest import OCDS, REPO, shared

# Cardinal outputs 1.0 for these flags; clearsight's value says more (days, count of bidders, ...), so only the
# set of flagged subjects is compared for them. Their documentation pages say so.
FLAG_ONLY_OUTPUT = {"R003", "R018", "R028", "R030", "R036"}
GROUPS = {"process": "OCID", "buyer": "Buyer", "procuring_entity": "ProcuringEntity", "tenderer": "Tenderer"}


def fixture_params(stem: str) -> tuple[str, dict[str, Any]]:
    """Cardinal encodes settings in fixture names: R003-threshold-10, R003-procurement_methods-open+selective,
    R003-procurement_method_details-x-5-y-10, R048-minimum_contracting_processes-1."""
    code, *rest = stem.split("-")
    if not rest or rest == ["tenderer"]:
        return code, {}
    name, *values = rest
    if name == "procurement_method_details":
        pairs = dict(zip(values[::2], (int(value) for value in values[1::2]), strict=True))
        return code, {"procurement_method_details_thresholds": pairs}
    if name == "procurement_methods":
        return code, {"procurement_methods": values[0].split("+")}
    value = float(values[0]) if "." in values[0] else int(values[0])
    return code, {name: value}


def cardinal_profile(code: str, params: dict[str, Any]) -> Profile:
    base = load_profile("cardinal").model_dump()
    indicators = base["indicators"]
    indicators[code] = {**indicators.get(code, {}), "params": {**indicators.get(code, {}).get("params", {}), **params}}
    # The settings Cardinal's own tests use with these fixtures.
    base.update(exclude_procurement_method_details=["EXC"], no_price_comparison_procurement_methods=["NPC"])
    return Profile(**base)


def cardinal_shape(rows: list[tuple[str, str, float]], code: str) -> dict[str, dict[str, dict[str, float]]]:
    result: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for subject_type, subject_id, value in rows:
        result[GROUPS[subject_type]][subject_id] = {code: value}
    return dict(result)


def _fixtures() -> list[Path]:
    folder = OCDS / "cardinal-fixtures" / "indicators"
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []


def flagged_like_cardinal(backend: Backend, dataset: str, code: str, params: dict[str, Any]) -> tuple[Any, int]:
    """Run one indicator with Cardinal's settings on a dataset: (flagged results in Cardinal's shape, the number of
    insufficient_data rows that give no reason)."""
    summary = run_flags(backend, dataset, cardinal_profile(code, params), only=[code])
    rows = backend.query(
        "SELECT DISTINCT subject_type, subject_id, value FROM flag_results WHERE run_id = ? AND status = 'flagged'",
        [summary.run_id],
    )
    unexplained = backend.query_value(
        "SELECT count(*) FROM flag_results WHERE run_id = ? AND status = 'insufficient_data' "
        "AND json_extract_string(evidence, '$.reason') IS NULL",
        [summary.run_id],
    )
    return cardinal_shape(rows, code), int(unexplained or 0)


def assert_like_fixture(got: dict[str, Any], expected: dict[str, Any], code: str, unexplained: int) -> None:
    assert got.keys() == expected.keys()
    for group, subjects in expected.items():
        assert got[group].keys() == subjects.keys(), group
        for subject, values in subjects.items():
            if code in FLAG_ONLY_OUTPUT:
                continue
            assert math.isclose(got[group][subject][code], values[code], rel_tol=1e-9, abs_tol=1e-12), subject
    assert unexplained == 0


def assert_like_documentation(got: dict[str, Any], expected: dict[str, Any], code: str) -> None:
    # Pages that predate the "Tenderer" results are compared only where they show them.
    got = {group: subjects for group, subjects in got.items() if group in expected or group != "Tenderer"}
    assert got.keys() == expected.keys()
    for group, subjects in expected.items():
        assert got[group].keys() == subjects.keys(), group
        if code not in FLAG_ONLY_OUTPUT:
            for subject, values in subjects.items():
                assert math.isclose(got[group][subject][code], values[code], rel_tol=1e-9), subject


@pytest.mark.parametrize("path", _fixtures(), ids=lambda path: path.stem)
def test_same_flags_as_cardinal(path: Path, tmp_path: Path) -> None:
    shared("ocds", "cardinal-fixtures", "indicators")
    code, params = fixture_params(path.stem)
    expected = json.loads(path.with_suffix(".expected").read_text())
    with DuckDBBackend(":memory:") as backend:
        ingest_ocds(backend, [str(path)], "cardinal", compiled=True, workers=1)
        got, unexplained = flagged_like_cardinal(backend, "cardinal", code, params)
    assert_like_fixture(got, expected, code, unexplained)


# Outputs of Cardinal's documentation examples, as its documentation pages print them (docs/cli/indicators/R/*.md).
# The pages were written against different Cardinal versions: some predate the "Tenderer" results, so those are
# compared only where the page shows them; the R003 page predates checking every procurement method (it checked
# open procedures only), so its example runs with procurement_methods = ["open"].
DOC_EXAMPLES: dict[str, tuple[dict[str, Any], dict[str, dict[str, dict[str, float]]]]] = {
    "003": ({"procurement_methods": ["open"]}, {}),
    "018": ({}, {"OCID": {"F": {"R018": 1.0}}}),
    "024": ({}, {"OCID": {"F": {"R024": 1.0}}}),
    "025": ({}, {"Tenderer": {"F": {"R025": 0.16666666666666666}}}),
    "028": ({}, {"OCID": {"F": {"R028": 1.0}}, "Tenderer": {"D": {"R028": 1.0}, "V": {"R028": 1.0}}}),
    "030": ({}, {"OCID": {"F": {"R030": 1.0}}}),
    "035": ({}, {"OCID": {"F": {"R035": 1.0}}}),
    "036": ({}, {"OCID": {"F": {"R036": 1.0}}}),
    "038": ({}, {"Buyer": {"B": {"R038": 0.5}}}),
    "048": ({"minimum_contracting_processes": 1}, {"Tenderer": {"F": {"R048": 2.0}}}),
    "058": ({}, {"OCID": {"F": {"R058": 99.0}}}),
}


@pytest.mark.parametrize("number", sorted(DOC_EXAMPLES))
def test_same_flags_as_cardinal_documentation_examples(number: str) -> None:
    path = shared("ocds", "cardinal-fixtures", "docs-examples", "R", f"{number}.jsonl")
    code = f"R{number}"
    params, expected = DOC_EXAMPLES[number]
    with DuckDBBackend(":memory:") as backend:
        ingest_ocds(backend, [str(path)], "cardinal", compiled=True, workers=1)
        got, _ = flagged_like_cardinal(backend, "cardinal", code, params)
    assert_like_documentation(got, expected, code)


# --- at scale, against the Cardinal binary ---------------------------------------------------------------------

CARDINAL_BINARY = REPO.parent / "shared" / "tools" / "cardinal" / "ocdscardinal"
CARDINAL_CODES = ("R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058")


def _cardinal() -> str:
    """The Cardinal binary, or skip saying why it cannot be used."""
    binary = str(CARDINAL_BINARY) if CARDINAL_BINARY.exists() else shutil.which("ocdscardinal")
    if binary is None:
        pytest.skip(f"Cardinal binary not available: {CARDINAL_BINARY} is absent and ocdscardinal is not on PATH")
    try:
        subprocess.run([binary, "--version"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"Cardinal binary cannot run here: {error}")
    return binary


def _cardinal_flags(binary: str, path: Path, tmp_path: Path) -> dict[str, set[tuple[str, str]]]:
    """Cardinal's flagged subjects per code, with its default settings: prepare, then indicators."""
    settings, prepared = tmp_path / "settings.ini", tmp_path / "prepared.jsonl"
    subprocess.run([binary, "init", str(settings)], check=True, capture_output=True)
    subprocess.run(
        [binary, "prepare", str(path), "-s", str(settings), "-o", str(prepared), "-e", str(tmp_path / "issues.csv")],
        check=True,
        capture_output=True,
    )
    output = subprocess.run(
        [binary, "indicators", str(prepared), "-s", str(settings)], check=True, capture_output=True, text=True
    ).stdout
    flagged: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for group, subjects in json.loads(output).items():
        if group == "Meta":
            continue
        for subject, codes in subjects.items():
            for code in codes:
                flagged[code].add((group, subject))
    return flagged


def _clearsight_flags(path: Path) -> dict[str, set[tuple[str, str]]]:
    with DuckDBBackend(":memory:") as backend:
        ingest_ocds(backend, [str(path)], "scale", workers=1)
        summary = run_flags(backend, "scale", load_profile("cardinal"), only=list(CARDINAL_CODES))
        rows = backend.query(
            "SELECT indicator, subject_type, subject_id FROM flag_results WHERE run_id = ? AND status = 'flagged'",
            [summary.run_id],
        )
    flagged: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for code, subject_type, subject_id in rows:
        flagged[code].add((GROUPS[subject_type], subject_id))
    return flagged


def _replicated_real(tmp_path: Path, times: int) -> Path:
    """real-compiled × `times` (the benchmark's input, made by its function): where parity broke at scale."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from ingest import replicate  # benchmarks/ingest.py
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return replicate(sorted(shared("ocds", "real-compiled").glob("*.jsonl")), times, tmp_path / f"real-x{times}.jsonl")


def _equal_bids(tmp_path: Path) -> Path:
    """12 processes whose two lowest bids are equal and 2 whose are not: R024's and R058's fences are 0 (Cardinal
    flags none of them), R028 flags the 12."""
    path = tmp_path / "equal-bids.jsonl"
    with open(path, "w") as out:
        for number in range(14):
            other = 100 if number < 12 else 150 + number
            bids = [
                {"id": "1", "status": "valid", "tenderers": [{"id": "W"}], "value": {"amount": 100, "currency": "EUR"}},
                {"id": "2", "status": "valid", "tenderers": [{"id": f"L{number}"}],
                 "value": {"amount": other, "currency": "EUR"}},
            ]  # fmt: skip
            release = {
                "ocid": f"p{number}", "tag": ["compiled"], "date": "2024-01-01T00:00:00Z",
                "tender": {"procurementMethod": "open", "status": "complete"}, "bids": {"details": bids},
                "awards": [{"id": "a", "status": "active", "suppliers": [{"id": "W"}]}],
            }  # fmt: skip
            out.write(json.dumps(release) + "\n")
    return path


def _synthetic(tmp_path: Path, processes: int) -> Path:
    from clearsight.synth.procurement import generate_procurement

    path = tmp_path / f"synthetic-{processes}.jsonl"
    generate_procurement(processes, 1, path, tmp_path / "truth.csv")
    return path


SCALE_INPUTS = ("real-compiled x10", "synthetic 10k", "two lowest bids equal")
# R048 at scale: clearsight identifies award suppliers published without an `id` by their identifier (OCDS 1.0
# references), Cardinal leaves them out — so they also enter the sample its fence is computed from, and the fence
# moves (real-compiled x10: 'AM-TIN-00807555' and placeholder ids such as '0'). Needs the published id kept apart
# from the derived one in the canonical tables (issue 17).
KNOWN_DIFFERENCES = {("real-compiled x10", "R048")}


@pytest.fixture(scope="module")
def scale_flags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any]]:
    """Per input: (Cardinal's flagged subjects, clearsight's with --profile cardinal), computed once."""
    binary = _cardinal()
    results = {}
    for data in SCALE_INPUTS:
        folder = tmp_path_factory.mktemp(data.replace(" ", "-"))
        if data.startswith("real"):
            path = _replicated_real(folder, 10)
        elif data.startswith("synthetic"):
            path = _synthetic(folder, 10_000)
        else:
            path = _equal_bids(folder)
        results[data] = (_cardinal_flags(binary, path, folder), _clearsight_flags(path))
    return results


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(data, code, marks=pytest.mark.xfail(strict=True, reason="see KNOWN_DIFFERENCES"))
        if (data, code) in KNOWN_DIFFERENCES
        else (data, code)
        for data in SCALE_INPUTS
        for code in CARDINAL_CODES
    ],
)
def test_same_flagged_subjects_as_the_cardinal_binary_at_scale(
    data: str, code: str, scale_flags: dict[str, tuple[Any, Any]]
) -> None:
    """`--profile cardinal` flags exactly the subjects the Cardinal binary flags (default settings), on inputs
    where shared suppliers and buyers recur across thousands of processes."""
    theirs, ours = scale_flags[data]
    assert sum(len(subjects) for subjects in theirs.values()) >= 12  # the comparison has something to compare
    assert ours[code] == theirs[code]
