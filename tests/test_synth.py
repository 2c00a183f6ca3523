"""Synthetic procurement data: deterministic, valid OCDS, and its ground truth is what the data shows."""

from __future__ import annotations

import csv
import itertools
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from clearsight.engine import DuckDBBackend
from clearsight.ingest.pipeline import ingest_ocds
from clearsight.synth.procurement import DIRECT_THRESHOLD, PROBLEMS, generate_procurement


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[dict], dict]:
    folder = tmp_path_factory.mktemp("synth")
    result = generate_procurement(4000, 7, folder / "p.jsonl", folder / "p.truth.csv")
    releases = [json.loads(line) for line in (folder / "p.jsonl").read_text().splitlines()]
    with open(folder / "p.truth.csv", newline="") as handle:
        truth = list(csv.DictReader(handle))
    return releases, truth, result


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    generate_procurement(300, 1, tmp_path / "a.jsonl", tmp_path / "a.csv")
    generate_procurement(300, 1, tmp_path / "b.jsonl.gz", tmp_path / "b.csv")
    generate_procurement(300, 2, tmp_path / "c.jsonl", tmp_path / "c.csv")
    import gzip

    assert (tmp_path / "a.jsonl").read_bytes() == gzip.decompress((tmp_path / "b.jsonl.gz").read_bytes())
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "c.jsonl").read_bytes()


def test_sample_is_valid_ocds_1_1(generated: tuple, release_schema: dict) -> None:
    releases, _, _ = generated
    validator = jsonschema.Draft4Validator(release_schema, format_checker=jsonschema.FormatChecker())
    for release in releases[:: len(releases) // 200]:
        errors = sorted(validator.iter_errors(release), key=lambda error: list(error.path))
        assert not errors, f"{release['ocid']}: {[error.message for error in errors[:3]]}"


def test_data_is_varied_like_real_procurement(generated: tuple) -> None:
    releases, _, result = generated
    methods = {release["tender"]["procurementMethod"] for release in releases}
    assert methods == {"open", "selective", "limited", "direct"}
    assert len({release["buyer"]["id"] for release in releases}) >= 8
    assert len({release["tender"]["items"][0]["classification"]["id"] for release in releases}) >= 10
    assert sum("lots" in release["tender"] for release in releases) > 50
    assert sum(any(c.get("amendments") for c in release["contracts"]) for release in releases) > 100
    assert all(release["parties"][0]["address"]["streetAddress"] for release in releases)
    assert set(result["planted"]) == set(PROBLEMS) and all(result["planted"].values())


def _by_problem(truth: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in truth:
        grouped[row["problem"]].append(row)
    return grouped


def _first_lot_bids(release: dict[str, Any]) -> list[dict]:
    bids = release.get("bids", {}).get("details", [])
    return [bid for bid in bids if bid.get("relatedLots", ["lot-1"]) == ["lot-1"]]


def test_ground_truth_is_what_the_data_shows(generated: tuple) -> None:
    releases, truth, _ = generated
    by_ocid = {release["ocid"]: release for release in releases}
    planted = _by_problem(truth)
    planted_ocids = {problem: {row["ocid"] for row in rows} for problem, rows in planted.items()}

    def days(release: dict) -> float:
        period = release["tender"]["tenderPeriod"]
        return (_when(period["endDate"]) - _when(period["startDate"])).total_seconds() / 86400

    for release in releases:
        short = release["ocid"] in planted_ocids["short_submission_period"]
        if release["tender"]["procurementMethod"] in ("open", "selective"):
            assert (days(release) < 6) == short, release["ocid"]
        bids = _first_lot_bids(release)
        if bids:
            lowest = min(bids, key=lambda bid: bid["value"]["amount"])
            disqualified = lowest["status"] == "disqualified"
            assert disqualified == (release["ocid"] in planted_ocids["disqualified_lowest_bid"]), release["ocid"]
            assert (len(bids) == 1) == (release["ocid"] in planted_ocids["single_bidder"]), release["ocid"]
    for row in planted["identical_bids"]:
        values = [bid["value"]["amount"] for bid in _first_lot_bids(by_ocid[row["ocid"]])]
        assert len(values) != len(set(values))
    for row in planted["late_winning_bid"]:
        release = by_ocid[row["ocid"]]
        winning = {bid_id for award in release["awards"] for bid_id in award.get("relatedBids", [])}
        late = [
            bid
            for bid in release["bids"]["details"]
            if bid["id"] in winning and _when(bid["date"]) > _when(release["tender"]["tenderPeriod"]["endDate"])
        ]
        assert late
    for row in planted["amendment_inflation"]:
        release = by_ocid[row["ocid"]]
        awards = {award["id"]: award["value"]["amount"] for award in release["awards"]}
        assert any(
            contract["value"]["amount"] >= 1.29 * awards[contract["awardID"]]
            and len(contract.get("amendments", [])) >= 2
            for contract in release["contracts"]
        )
    splits: dict[str, list[dict]] = defaultdict(list)
    for row in planted["split_purchase"]:
        splits[row["detail"]].append(by_ocid[row["ocid"]])
    for group in splits.values():
        assert len(group) >= 2
        assert len({release["buyer"]["id"] for release in group}) == 1
        assert len({release["tender"]["items"][0]["classification"]["id"] for release in group}) == 1
        for release in group:
            assert release["tender"]["procurementMethod"] == "direct"
            assert 0.9 * DIRECT_THRESHOLD <= release["tender"]["value"]["amount"] < DIRECT_THRESHOLD
    addresses: dict[tuple, set[str]] = defaultdict(set)
    for release in releases:
        for party in release["parties"]:
            if "supplier" in party["roles"] or "tenderer" in party["roles"]:
                addresses[(party["address"]["streetAddress"], party["contactPoint"]["telephone"])].add(party["id"])
    shared = {party for ids in addresses.values() if len(ids) > 1 for party in ids}
    for row in planted["shell_supplier"]:
        assert row["detail"] in shared
    winners_by_cartel: dict[str, list[str]] = defaultdict(list)
    for row in planted["cartel_rotation"]:
        cartel, winner = row["detail"].removeprefix("cartel of ").split(" winner ")
        winners_by_cartel[cartel].append(winner)
        release = by_ocid[row["ocid"]]
        covers = set(next(r["detail"] for r in planted["cover_bidding"] if r["ocid"] == row["ocid"]).split(","))
        bids = {bid["tenderers"][0]["id"]: bid["value"]["amount"] for bid in _first_lot_bids(release)}
        assert all(bids[cover] > bids[winner] for cover in covers)
        assert release["awards"][0]["suppliers"][0]["id"] == winner
    for winners in winners_by_cartel.values():
        if len(winners) >= 6:
            assert len(set(winners)) >= 3  # wins rotate
            assert all(a != b for a, b in itertools.pairwise(winners))


def test_synthetic_data_ingests_cleanly(generated: tuple, tmp_path: Path) -> None:
    releases, _, _ = generated
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(release) for release in releases[:500]) + "\n")
    with DuckDBBackend(":memory:") as backend:
        summary = ingest_ocds(backend, [str(path)], "synthetic")
        assert summary.processes_written == 500 and summary.rejected == 0 and summary.quality_issues == 0
        assert backend.query_value("SELECT count(*) FROM bids") > 500
