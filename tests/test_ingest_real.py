"""Ingest of real published OCDS data: every file accounted for, expected counts, idempotence, updates."""

from __future__ import annotations

import json
from collections import Counter

import orjson

from clearsight.engine import DuckDBBackend
from clearsight.ingest.merge import compile_releases
from clearsight.ingest.pipeline import OcdsIngest, ingest_ocds
from tests.conftest import shared


def test_all_twelve_publishers_ingest_with_every_file_accounted_for(backend: DuckDBBackend) -> None:
    root = shared("ocds", "real-examples")
    summary = ingest_ocds(backend, [str(root)], "real")
    publishers = {path.relative_to(root).parts[0] for path in root.rglob("*.json")}
    assert len(publishers) == 12
    # Every .json file was read; everything else in the folders is listed as skipped.
    read = {file.path for file in summary.files}
    assert read == {str(path) for path in root.rglob("*.json")}
    assert set(summary.skipped_files) == {str(path) for path in root.rglob("*") if path.is_file()} - read
    # Every object read is a release, a reject or a blank line, and the tables agree with the summary.
    assert summary.accounted
    assert backend.query_value("SELECT count(*) FROM ingest_rejects") == summary.rejected
    assert summary.reject_reasons == {
        "empty file": 3,
        "record has no compiledRelease and only linked releases (url), which cannot be compiled": 2,
    }
    for file in summary.files:
        assert file.objects_read == file.releases_read + file.rejected + file.blank, file.path
    assert backend.query_value("SELECT sum(objects_read) FROM ingest_files") == summary.objects_read
    # Releases published twice (e.g. in a record and as a release file) are stored once.
    assert backend.query_value("SELECT count(*) FROM source_releases") == summary.new_releases
    assert summary.new_releases + summary.duplicate_releases == summary.releases_read
    # Each publisher's processes made it to the canonical tables.
    per_publisher = Counter(
        path.split("real-examples/")[1].split("/")[0] for (path,) in backend.query("SELECT source_file FROM processes")
    )
    assert set(per_publisher) == publishers
    assert summary.processes_written == backend.query_value("SELECT count(*) FROM processes") == 610


def test_compiled_processes_match_ocdsmerge(backend: DuckDBBackend) -> None:
    """Recompiling each stored group of releases with ocdsmerge gives what the pipeline compiled."""
    import warnings

    import pytest

    ocdsmerge = pytest.importorskip("ocdsmerge")
    schema = json.loads(shared("ocds", "schema-1.1", "release-schema.json").read_text())
    merger = ocdsmerge.Merger(schema=schema)
    ingest_ocds(backend, [str(shared("ocds", "real-examples"))], "real")
    groups: dict[str, list[dict]] = {}
    for ocid, kind, data in backend.query(
        "SELECT ocid, kind, data FROM source_releases ORDER BY ocid, release_date, source_file, source_line"
    ):
        groups.setdefault(ocid, []).append({"kind": kind, "data": data, "source_file": ""})
    compared = 0
    for group in groups.values():
        if any(item["kind"] == "record" for item in group) or [item["kind"] for item in group] == ["compiled"]:
            continue  # records' compiledRelease and lone compiled releases are used as published
        releases = [orjson.loads(item["data"]) for item in group]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = merger.create_compiled_release(releases)
        assert OcdsIngest.compile_group(group) == expected
        assert compile_releases(releases) == expected
        compared += 1
    assert compared > 500


def _as_list(value: object) -> list:
    # A lone object where an array belongs is read as a one-element array (and logged as an issue).
    return [value] if isinstance(value, dict) else list(value or [])


def _expected_counts() -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in shared("ocds", "real-compiled").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            release = json.loads(line)
            counts["processes"] += 1
            details = (release.get("bids") or {}).get("details") or []
            counts["bids"] += len(details)
            counts["processes_with_bids"] += bool(details)
            counts["awards"] += len(_as_list(release.get("awards")))
            counts["contracts"] += len(_as_list(release.get("contracts")))
            counts["parties"] += len(_as_list(release.get("parties")))
            counts["award_suppliers"] += sum(
                len(_as_list(award.get("suppliers"))) for award in _as_list(release.get("awards"))
            )
    return counts


def test_real_compiled_loads_with_expected_counts(backend: DuckDBBackend) -> None:
    summary = ingest_ocds(backend, [str(shared("ocds", "real-compiled"))], "compiled")
    expected = _expected_counts()
    assert expected["processes"] == 610 and expected["processes_with_bids"] == 27
    assert summary.processes_written == 610 and summary.rejected == 0
    for table in ("processes", "bids", "awards", "contracts", "parties", "award_suppliers"):
        assert backend.query_value(f"SELECT count(*) FROM {table}") == expected[table], table
    assert backend.query_value("SELECT count(*) FROM processes WHERE has_bids") == 27
    by_publisher = dict(
        backend.query(
            "SELECT regexp_extract(p.source_file, '([a-z-]+)\\.jsonl', 1), count(DISTINCT b.ocid) "
            "FROM bids AS b JOIN processes AS p USING (dataset, ocid) GROUP BY 1"
        )
    )
    assert by_publisher == {"armenia": 22, "ukraine": 5}


def test_reingesting_is_idempotent(backend: DuckDBBackend) -> None:
    path = str(shared("ocds", "real-compiled"))
    ingest_ocds(backend, [path], "compiled")
    before = {
        table: backend.query_value(f"SELECT count(*) FROM {table}")
        for table in ("processes", "bids", "awards", "contracts", "parties", "quality_issues", "source_releases")
    }
    again = ingest_ocds(backend, [path], "compiled")
    assert again.new_releases == 0 and again.duplicate_releases == 610 and again.processes_written == 0
    after = {table: backend.query_value(f"SELECT count(*) FROM {table}") for table in before}
    assert after == before
    assert backend.query_value("SELECT count(*) FROM ingest_runs") == 2


def test_datasets_live_side_by_side(backend: DuckDBBackend) -> None:
    path = str(shared("ocds", "real-compiled", "moldova.jsonl"))
    ingest_ocds(backend, [path], "first")
    ingest_ocds(backend, [path], "second")
    assert dict(backend.query("SELECT dataset, count(*) FROM processes GROUP BY 1")) == {"first": 51, "second": 51}
