"""Read a group back from the warehouse, and export the network (or one group) as GraphML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from clearsight.engine import Backend


class GroupNotFound(LookupError):
    pass


def group_detail(backend: Backend, dataset: str, group_id: str) -> dict[str, Any]:
    """One group: its scores, members (with names), the links among them and the buyers that awarded them."""
    rows = backend.query_dicts(
        "SELECT * FROM network_groups WHERE dataset = ? AND group_id = ?", [dataset, group_id.upper()]
    )
    if not rows:
        known = backend.query_value("SELECT count(*) FROM network_groups WHERE dataset = ?", [dataset])
        raise GroupNotFound(
            f"no group {group_id!r} in dataset {dataset!r} ({known} groups; run `clearsight network build` first)"
        )
    group = rows[0]
    members = list(group["members"])
    names = dict(
        backend.query(
            "SELECT party_id, any_value(name) FROM parties WHERE dataset = ? AND list_contains(?, party_id) "
            "GROUP BY party_id",
            [dataset, members],
        )
    )
    links = backend.query_dicts(
        "SELECT source, target, kind, weight, evidence FROM network_edges WHERE dataset = ? AND kind <> 'awarded' "
        "AND list_contains(?, source) AND list_contains(?, target) ORDER BY kind, source, target",
        [dataset, members, members],
    )
    buyers = backend.query_dicts(
        "SELECT source AS buyer, target AS supplier, weight AS awards FROM network_edges WHERE dataset = ? "
        "AND kind = 'awarded' AND list_contains(?, target) ORDER BY weight DESC, source LIMIT 50",
        [dataset, members],
    )
    return {
        "dataset": dataset,
        "group_id": group["group_id"],
        "score": group["score"],
        "size": group["size"],
        "joint_processes": group["joint_processes"],
        "member_win_share": group["member_win_share"],
        "distinct_winners": group["distinct_winners"],
        "rotation": group["rotation"],
        "shared_identifier_links": group["shared_identifier_links"],
        "members": [{"id": member, "name": names.get(member)} for member in members],
        "evidence": json.loads(group["evidence"]),
        "links": [{**link, "evidence": json.loads(link["evidence"])} for link in links],
        "buyers": buyers,
    }


def write_graphml(backend: Backend, dataset: str, path: Path, group_id: str | None = None) -> tuple[int, int]:
    """The network (or one group and its buyers) as GraphML; returns (nodes, edges).

    Parallel links of different kinds become one edge per kind (a MultiGraph), each with kind and weight.
    """
    graph = nx.MultiGraph()
    if group_id is not None:
        detail = group_detail(backend, dataset, group_id)
        members = [member["id"] for member in detail["members"]]
        rows = backend.query(
            "SELECT source, target, kind, weight FROM network_edges WHERE dataset = ? AND list_contains(?, target) "
            "AND (kind = 'awarded' OR list_contains(?, source))",
            [dataset, members, members],
        )
    else:
        rows = backend.query("SELECT source, target, kind, weight FROM network_edges WHERE dataset = ?", [dataset])
    buyers = {source for source, _, kind, _ in rows if kind == "awarded"}
    group_of = {
        member: group
        for group, members in backend.query("SELECT group_id, members FROM network_groups WHERE dataset = ?", [dataset])
        for member in members
    }
    for source, target, kind, weight in rows:
        for node in (source, target):
            if node not in graph:
                node_type = "buyer" if node in buyers and node == source and kind == "awarded" else "supplier"
                graph.add_node(node, type=node_type, group=group_of.get(node, ""))
        graph.add_edge(source, target, kind=kind, weight=float(weight))
    nx.write_graphml(graph, path)
    return graph.number_of_nodes(), graph.number_of_edges()
