"""OCDS merge: the shipped rules match the schema, and compiled releases match the reference ocdsmerge."""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from typing import Any

import pytest

from clearsight.ingest.merge import MergeError, compile_releases
from clearsight.ingest.merge_rules import derive_merge_rules, shipped_merge_rules
from tests.conftest import shared

ocdsmerge = pytest.importorskip("ocdsmerge")


@pytest.fixture(scope="module")
def merger(release_schema: dict) -> Any:
    return ocdsmerge.Merger(schema=release_schema)


def test_shipped_rules_are_those_of_the_ocds_1_1_schema(release_schema: dict) -> None:
    derived = derive_merge_rules(release_schema)
    assert {tuple(path.split("/")): rule for path, rule in derived.items()} == shipped_merge_rules()
    reference = ocdsmerge.rules.get_merge_rules(release_schema)
    assert {tuple(path.split("/")): rule for path, rule in derived.items()} == reference


def _release_groups() -> dict[tuple[str, str], list[dict]]:
    """Every release in real-examples, grouped by publisher folder and ocid (read with the json module)."""
    root = shared("ocds", "real-examples")
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for path in sorted(root.rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        publisher = str(path.relative_to(root).parent.parent)
        if isinstance(document, dict) and isinstance(document.get("releases"), list) and "ocid" not in document:
            releases = document["releases"]
        elif isinstance(document, dict) and "records" in document:
            releases = [
                release
                for record in document["records"]
                for release in record.get("releases", [])
                if "url" not in release
            ]
        else:
            releases = [document]
        for release in releases:
            if "compiled" not in (release.get("tag") or []):
                groups[(publisher, release["ocid"])].append(release)
    return groups


def test_compiled_releases_match_ocdsmerge_on_every_real_example(merger: Any) -> None:
    groups = _release_groups()
    assert len(groups) > 500
    publishers = {publisher.split("/")[0] for publisher, _ in groups}
    assert len(publishers) >= 10
    mismatches = []
    for key, releases in groups.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = merger.create_compiled_release(releases)
        if compile_releases(releases) != expected:
            mismatches.append(key)
    assert mismatches == []


EDGE_CASES = {
    "null removes a field": [
        {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"title": "a", "description": "d"}},
        {"ocid": "o", "id": "2", "date": "2020-02-01", "tender": {"title": None}},
    ],
    "empty object and array change nothing": [
        {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"items": [{"id": "1", "quantity": 2}]}},
        {"ocid": "o", "id": "2", "date": "2020-02-01", "tender": {"items": []}, "planning": {}},
    ],
    "identifier merge and append without id": [
        {
            "ocid": "o",
            "id": "1",
            "date": "2020-01-01",
            "awards": [{"id": "a", "status": "pending"}, {"title": "no id"}],
        },
        {
            "ocid": "o",
            "id": "2",
            "date": "2020-02-01",
            "awards": [{"id": "b", "status": "active"}, {"id": "a", "status": "active"}, {"title": "no id"}],
        },
    ],
    "whole list merge and lists of strings": [
        {
            "ocid": "o",
            "id": "1",
            "date": "2020-01-01",
            "parties": [{"id": "p", "roles": ["buyer"], "additionalIdentifiers": [{"id": "x"}]}],
            "tender": {"submissionMethod": ["written"]},
        },
        {
            "ocid": "o",
            "id": "2",
            "date": "2020-02-01",
            "parties": [{"id": "p", "roles": ["payer"], "additionalIdentifiers": [{"id": "y"}]}],
            "tender": {"submissionMethod": ["electronicSubmission"]},
        },
    ],
    "releases out of date order are sorted": [
        {"ocid": "o", "id": "2", "date": "2020-02-01", "tender": {"status": "complete"}},
        {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"status": "active", "title": "t"}},
    ],
    "a scalar never replaces a merged object": [
        {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"value": {"amount": 1}}},
        {"ocid": "o", "id": "2", "date": "2020-02-01", "tender": {"value": None}},
    ],
    'ids 1 and "1" are the same object': [
        {"ocid": "o", "id": "1", "date": "2020-01-01", "awards": [{"id": 1, "title": "number"}]},
        {"ocid": "o", "id": "2", "date": "2020-02-01", "awards": [{"id": "1", "title": "string"}]},
    ],
    "nested arrays inside merged objects": [
        {
            "ocid": "o",
            "id": "1",
            "date": "2020-01-01",
            "contracts": [{"id": "c", "implementation": {"transactions": [{"id": "t1", "amount": {"amount": 5}}]}}],
        },
        {
            "ocid": "o",
            "id": "2",
            "date": "2020-02-01",
            "contracts": [{"id": "c", "implementation": {"transactions": [{"id": "t2", "amount": {"amount": 6}}]}}],
        },
    ],
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_match_ocdsmerge(case: str, merger: Any) -> None:
    releases = EDGE_CASES[case]
    assert compile_releases(releases) == merger.create_compiled_release(releases)


def test_compiled_release_has_compiled_tag_id_and_latest_date() -> None:
    compiled = compile_releases(EDGE_CASES["releases out of date order are sorted"])
    assert compiled["tag"] == ["compiled"]
    assert compiled["date"] == "2020-02-01"
    assert compiled["id"] == "o-2020-02-01"
    assert compiled["tender"] == {"status": "complete", "title": "t"}


def test_type_conflicts_are_errors_naming_the_path() -> None:
    with pytest.raises(MergeError, match="/tender/items"):
        compile_releases(
            [
                {"ocid": "o", "id": "1", "date": "2020-01-01", "tender": {"items": "not an array"}},
                {"ocid": "o", "id": "2", "date": "2020-02-01", "tender": {"items": [{"id": "1"}]}},
            ]
        )
