"""The supplier network: links computed by hand, planted cartels and shells found, commands and GraphML."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clearsight.cli import app
from clearsight.engine import DuckDBBackend
from clearsight.flags.profile import load_profile
from clearsight.flags.runner import run_flags
from clearsight.ingest.pipeline import ingest_ocds
from clearsight.network.build import build_network
from clearsight.network.export import GroupNotFound, group_detail
from clearsight.synth.procurement import generate_procurement


def _process(ocid: str, bidders: list[str], winner: str | None) -> dict[str, Any]:
    release: dict[str, Any] = {
        "ocid": ocid,
        "buyer": {"id": "BUY"},
        "bids": {
            "details": [
                {"id": str(i), "status": "valid", "tenderers": [{"id": firm}]} for i, firm in enumerate(bidders)
            ]
        },
    }
    if winner:
        release["awards"] = [{"id": "a", "status": "active", "suppliers": [{"id": winner}]}]
    return release


def _party(party_id: str, name: str, phone: str, street: str = "1 Main St") -> dict[str, Any]:
    return {
        "id": party_id,
        "name": name,
        "roles": ["tenderer"],
        "address": {"streetAddress": street, "locality": "Arden"},
        "contactPoint": {"telephone": phone},
    }


def _ingest(backend: DuckDBBackend, tmp_path: Path, releases: list[dict[str, Any]]) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(release) + "\n" for release in releases))
    ingest_ocds(backend, [str(path)], "hand", compiled=True, workers=1)


def test_links_are_what_the_releases_say(tmp_path: Path) -> None:
    releases = [
        _process("1", ["A", "B"], "A"),
        _process("2", ["A", "B"], "A"),
        _process("3", ["B", "A"], "B"),
        _process("4", ["A", "C"], "C"),  # A and C meet once: below min_co_bids
    ]
    releases[0]["parties"] = [
        _party("A", "Alpha Build Ltd.", "+99 (123) 456-789", "1 Mill Road"),
        _party("B", "ALPHA BUILD LLC", "99123456789", "2 Quay"),
        _party("C", "Gamma Roads", "+99 555 000", "3 Hill"),
    ]
    # Ten firms with the same placeholder telephone: a placeholder, not a link.
    releases[1]["parties"] = [_party(f"P{i}", f"Firm {i}", "000000", f"{i} Lane") for i in range(10)]
    with DuckDBBackend(":memory:") as backend:
        _ingest(backend, tmp_path, releases)
        build_network(backend, "hand", min_co_bids=2, max_shared=5)
        edges = {
            (row["source"], row["target"], row["kind"]): row
            for row in backend.query_dicts("SELECT * FROM network_edges WHERE dataset = 'hand'")
        }
    co_bid = edges[("A", "B", "co_bid")]
    assert co_bid["weight"] == 3
    assert json.loads(co_bid["evidence"])["source_beat_target"] == 2
    assert json.loads(co_bid["evidence"])["target_beat_source"] == 1
    assert ("A", "C", "co_bid") not in edges
    assert ("A", "B", "shared_telephone") in edges  # the same digits, formatted differently
    assert ("A", "B", "similar_name") in edges  # legal forms and punctuation ignored
    assert not [key for key in edges if key[2] == "shared_address"]
    assert not [key for key in edges if key[0].startswith("P")]
    assert edges[("BUY", "A", "awarded")]["weight"] == 2


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBBackend, list[dict[str, str]]]:
    folder = tmp_path_factory.mktemp("network")
    generate_procurement(6000, 11, folder / "p.jsonl", folder / "p.truth.csv")
    backend = DuckDBBackend(str(folder / "w.duckdb"))
    ingest_ocds(backend, [str(folder / "p.jsonl")], "synthetic", workers=1)
    build_network(backend, "synthetic")
    with open(folder / "p.truth.csv", newline="") as handle:
        truth = list(csv.DictReader(handle))
    return backend, truth


def _cartels(truth: list[dict[str, str]]) -> dict[str, set[str]]:
    """Planted cartels: leader → members (every winner and cover bidder of its rotation processes)."""
    covers = {row["ocid"]: row["detail"].split(",") for row in truth if row["problem"] == "cover_bidding"}
    cartels: dict[str, set[str]] = defaultdict(set)
    for row in truth:
        if row["problem"] == "cartel_rotation":
            leader, winner = row["detail"].removeprefix("cartel of ").split(" winner ")
            cartels[leader] |= {winner, *covers[row["ocid"]]}
    return cartels


def test_planted_cartels_are_among_the_most_suspicious_groups(synthetic: tuple) -> None:
    backend, truth = synthetic
    cartels = _cartels(truth)
    assert len(cartels) == 4
    groups = backend.query_dicts("SELECT * FROM network_groups WHERE dataset = 'synthetic' ORDER BY score DESC")
    assert len(groups) > 10
    top = groups[:10]
    for members in cartels.values():
        found = [group for group in top if members <= set(group["members"])]
        assert found, f"cartel {sorted(members)} not within one of the ten most suspicious groups"
        group = found[0]
        assert group["size"] <= len(members) + 1  # the ring, not its whole market
        assert group["member_win_share"] > 0.9 and group["rotation"] > 0.5
        detail = group_detail(backend, "synthetic", group["group_id"])
        winners = {item["firm"] for item in detail["evidence"]["wins"]}
        assert members <= winners  # the explanation shows every member taking its turn


def test_planted_shell_suppliers_are_linked_by_their_shared_telephone(synthetic: tuple) -> None:
    backend, truth = synthetic
    shells = {row["detail"] for row in truth if row["problem"] == "shell_supplier"}
    assert shells
    for kind in ("shared_telephone", "shared_address"):  # the shells share both
        linked = {
            firm
            for source, target in backend.query(
                "SELECT source, target FROM network_edges WHERE dataset = 'synthetic' AND kind = ?", [kind]
            )
            for firm in (source, target)
        }
        assert shells <= linked, kind
    for firm in shells:
        group = backend.query_dicts(
            "SELECT shared_identifier_links, score FROM network_groups WHERE list_contains(members, ?)", [firm]
        )
        assert group and group[0]["shared_identifier_links"] >= 1 and group[0]["score"] >= 0.5


def test_bid_rotation_indicator_finds_planted_rotation_without_false_alarms(synthetic: tuple) -> None:
    backend, truth = synthetic
    summary = run_flags(backend, "synthetic", load_profile("default"), only=["N002"])
    flagged = {
        ocid
        for (ocid,) in backend.query(
            "SELECT subject_id FROM flag_results WHERE run_id = ? AND status = 'flagged'", [summary.run_id]
        )
    }
    planted = {row["ocid"] for row in truth if row["problem"] == "cartel_rotation"}
    assert flagged and flagged <= planted
    assert len(flagged & planted) / len(planted) > 0.3


def test_groups_are_deterministic_for_a_seed(synthetic: tuple) -> None:
    backend, _ = synthetic
    before = backend.query("SELECT group_id, members, score FROM network_groups WHERE dataset = 'synthetic'")
    build_network(backend, "synthetic")
    assert backend.query("SELECT group_id, members, score FROM network_groups WHERE dataset = 'synthetic'") == before
    with pytest.raises(GroupNotFound, match="network build"):
        group_detail(backend, "synthetic", "G999999")


def test_network_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    database = str(tmp_path / "w.duckdb")
    data = tmp_path / "p.jsonl"
    generate_procurement(1500, 3, data, tmp_path / "p.truth.csv")
    assert runner.invoke(app, ["--db", database, "ingest", "ocds", str(data), "--dataset", "s"]).exit_code == 0
    graph_path = tmp_path / "all.graphml"
    result = runner.invoke(
        app, ["--db", database, "network", "build", "-d", "s", "--graphml", str(graph_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["groups"] > 0 and summary["edges"]["co_bid"] > 0
    graph = nx.read_graphml(graph_path)
    kinds = {data["kind"] for _, _, data in graph.edges(data=True)}
    assert {"co_bid", "awarded"} <= kinds
    assert {data["type"] for _, data in graph.nodes(data=True)} == {"buyer", "supplier"}

    result = runner.invoke(app, ["--db", database, "network", "show", "G1", "-d", "s", "--json"])
    assert result.exit_code == 0, result.output
    detail = json.loads(result.output)
    assert detail["group_id"] == "G1" and len(detail["members"]) == detail["size"] >= 2
    group_path = tmp_path / "g1.graphml"
    result = runner.invoke(app, ["--db", database, "network", "show", "G1", "-d", "s", "--graphml", str(group_path)])
    assert result.exit_code == 0 and "G1 score" in result.output
    members = {member["id"] for member in detail["members"]}
    assert members <= set(nx.read_graphml(group_path).nodes)

    result = runner.invoke(app, ["--db", database, "network", "show", "G99999", "-d", "s"])
    assert result.exit_code == 2 and "no group" in result.output


def test_group_scores_reach_processes_through_indicator_n003(synthetic: tuple, tmp_path: Path) -> None:
    backend, truth = synthetic
    summary = run_flags(backend, "synthetic", load_profile("default"), only=["N003"])
    rows = backend.query_dicts(
        "SELECT subject_id, status, evidence FROM flag_results WHERE run_id = ?", [summary.run_id]
    )
    flagged = {row["subject_id"] for row in rows if row["status"] == "flagged"}
    planted = {row["ocid"] for row in truth if row["problem"] == "cartel_rotation"}
    assert len(flagged & planted) / len(planted) > 0.9
    assert len(flagged & planted) / len(flagged) > 0.5
    evidence = json.loads(next(row["evidence"] for row in rows if row["subject_id"] in flagged & planted))
    assert evidence["group_id"].startswith("G") and "," in evidence["firms"]

    with DuckDBBackend(":memory:") as fresh:  # no network built: no verdict, and the reason says what to do
        _ingest(fresh, tmp_path, [_process("1", ["A", "B"], "A")])
        run = run_flags(fresh, "hand", load_profile("default"), only=["N003"])
        row = fresh.query_dicts("SELECT status, evidence FROM flag_results WHERE run_id = ?", [run.run_id])[0]
        assert row["status"] == "insufficient_data" and "network build" in json.loads(row["evidence"])["reason"]


def test_identifiers_from_a_company_register_link_parties(tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    register.write_text(
        "party_id,kind,value\n"
        "A,Bank account,GB29 NWBK 6016 1331 9268 19\n"
        "B,bank account,gb29 nwbk 6016 1331 9268 19\n"  # the same account, written differently
        "C,director,Jane Roe\n"
        "D,director,JANE ROE\n"
        "E,director,\n"  # rejected: empty value
        ",owner,Holding X\n"  # rejected: empty party id
        "F,bank_account,DE89 3704\n"  # F and G never bid together: linked all the same
        "G,bank_account,DE89 3704\n"
    )
    runner = CliRunner()
    database = str(tmp_path / "w.duckdb")
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps(_process("1", ["A", "B"], "A")) + "\n" + json.dumps(_process("2", ["C", "D"], "D")))
    assert runner.invoke(app, ["--db", database, "ingest", "ocds", str(data), "-d", "r", "--compiled"]).exit_code == 0
    result = runner.invoke(
        app, ["--db", database, "network", "build", "-d", "r", "--identifiers", str(register), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["identifiers_read"] == 8
    assert summary["identifiers_rejected"] == {"empty party_id": 1, "empty value": 1}
    assert summary["identifiers_rejected_examples"] == [
        f"{register}: line 6: field value is empty",
        f"{register}: line 7: field party_id is empty",
    ]
    assert summary["edges"]["shared_bank_account"] == 2 and summary["edges"]["shared_director"] == 1
    with DuckDBBackend(database) as backend:
        groups = backend.query("SELECT members, shared_identifier_links FROM network_groups ORDER BY group_id")
    assert sorted((list(members), links) for members, links in groups) == [
        (["A", "B"], 1),
        (["C", "D"], 1),
        (["F", "G"], 1),
    ]

    parquet = tmp_path / "register.parquet"
    pq.write_table(pa.table({"party_id": ["A", "B", None], "kind": ["owner"] * 3, "value": ["X Holding"] * 3}), parquet)
    with DuckDBBackend(database) as backend:
        summary = build_network(backend, "r", identifiers=parquet).to_dict()
    assert summary["edges"]["shared_owner"] == 1
    assert summary["identifiers_rejected_examples"] == [f"{parquet}: row 3: field party_id is empty"]

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,account\nA,1\n")
    result = runner.invoke(app, ["--db", database, "network", "build", "-d", "r", "--identifiers", str(wrong)])
    assert result.exit_code == 2 and "wrong.csv" in result.output and "party_id" in result.output
