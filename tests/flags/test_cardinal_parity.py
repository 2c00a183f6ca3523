"""Cardinal parity: the same fixtures give the same flagged results as Cardinal's expected outputs."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from clearsight.engine import Backend, DuckDBBackend
from clearsight.flags.profile import Profile, load_profile
from clearsight.flags.runner import run_flags
from clearsight.ingest.pipeline import ingest_ocds
from tests.conftest import OCDS, shared

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
