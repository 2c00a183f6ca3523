"""`clearsight network ...`: the supplier network — build it, show a suspicious group, export GraphML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsight.cli.common import JsonOption, command_group, console, fail, print_json, state
from clearsight.engine import EngineError

network_app = command_group("Supplier networks: co-bidding, shared identifiers, communities.")


@network_app.command("build")
def build_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d")] = "default",
    min_co_bids: Annotated[int, typer.Option(min=1, help="Processes two firms must share to be linked.")] = 2,
    min_jaccard: Annotated[
        float, typer.Option(min=0, max=1, help="Co-bidding links weaker than this stay out of the communities.")
    ] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of the Louvain community detection.")] = 42,
    identifiers: Annotated[
        Path | None,
        typer.Option(
            help="CSV or Parquet of party_id,kind,value rows from outside the OCDS data (bank accounts, owners, "
            "directors from a company register): each kind links the parties sharing a value."
        ),
    ] = None,
    graphml: Annotated[Path | None, typer.Option(help="Also write the whole network as GraphML here.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Link suppliers (co-bidding, shared address/telephone/e-mail, similar names) and buyers, find communities,
    score each group → network_edges, network_groups."""
    from rich.table import Table

    from clearsight.network.build import IdentifiersError, build_network
    from clearsight.network.export import write_graphml

    with state.backend(spark=True, what="`network`") as backend:
        try:
            with console.status("building the supplier network …"):
                summary = build_network(
                    backend,
                    dataset,
                    min_co_bids=min_co_bids,
                    min_jaccard=min_jaccard,
                    seed=seed,
                    identifiers=identifiers,
                )
                if graphml is not None:
                    write_graphml(backend, dataset, graphml)
            top = backend.query(
                "SELECT group_id, size, joint_processes, member_win_share, rotation, shared_identifier_links, score "
                "FROM network_groups WHERE dataset = ? ORDER BY score DESC, group_id LIMIT 10",
                [dataset],
            )
        except IdentifiersError as error:
            fail(str(error), 2)
        except EngineError as error:
            fail(str(error))
    if json_output:
        print_json(summary.to_dict())
        return
    if identifiers is not None:
        rejected = ", ".join(f"{count:,} {reason}" for reason, count in summary.identifiers_rejected.items())
        console.print(
            f"{identifiers}: {summary.identifiers_read:,} identifier rows read"
            + (f"; rejected: {rejected}" if rejected else "; none rejected")
        )
        for example in summary.identifiers_rejected_examples:
            console.print(f"  [yellow]{example}[/]")
    links = ", ".join(f"{count:,} {kind}" for kind, count in summary.edges.items())
    console.print(
        f"{summary.suppliers:,} suppliers strongly linked (in the community graph); links: {links}; "
        f"{summary.groups:,} groups"
    )
    table = Table(title="most suspicious groups (clearsight network show GROUP)")
    for column in ("group", "size", "joint processes", "members' win share", "rotation", "shared ids", "score"):
        table.add_column(column)
    for group, size, joint, share, rotation, shared, score in top:
        table.add_row(group, str(size), str(joint), f"{share:.0%}", f"{rotation:.2f}", str(shared), f"{score:.2f}")
    console.print(table)


@network_app.command("show")
def show_command(
    group: Annotated[str, typer.Argument(help="Group id from `network build` (G1 is the most suspicious).")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help="Dataset (default: the only one whose network has GROUP).")
    ] = None,
    graphml: Annotated[Path | None, typer.Option(help="Write the group and its buyers as GraphML here.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Explain one group: members, who won what, the links among them, the buyers that awarded them."""
    from rich.table import Table

    from clearsight.network.export import GroupNotFound, group_detail, write_graphml

    with state.backend(spark=True, what="`network`", read_only=True) as backend:
        if dataset is None:
            holders = [
                row[0]
                for row in backend.query(
                    "SELECT DISTINCT dataset FROM network_groups WHERE group_id = ? ORDER BY 1", [group.upper()]
                )
            ]
            if len(holders) > 1:
                fail(f"group {group} exists in datasets {', '.join(holders)}: say which with --dataset", 2)
            dataset = holders[0] if holders else "default"
        try:
            detail = group_detail(backend, dataset, group)
            if graphml is not None:
                write_graphml(backend, dataset, graphml, group)
        except GroupNotFound as error:
            fail(str(error), 2)
        except EngineError as error:
            fail(str(error))
    if json_output:
        print_json(detail)
        return
    console.print(
        f"[bold]{detail['group_id']}[/] score {detail['score']:.2f}: {detail['size']} suppliers; in "
        f"{detail['joint_processes']} processes at least two of them bid, and a member won "
        f"{detail['member_win_share']:.0%}; {detail['distinct_winners']} members won (rotation "
        f"{detail['rotation']:.2f}); {detail['shared_identifier_links']} pairs share a telephone or e-mail."
    )
    wins = {item["firm"]: item["wins"] for item in detail["evidence"]["wins"]}
    table = Table(title="members")
    for column in ("supplier", "name", "wins in joint processes"):
        table.add_column(column)
    for member in detail["members"]:
        table.add_row(member["id"], member["name"] or "", str(wins.get(member["id"], 0)))
    console.print(table)
    links = Table(title="links inside the group")
    for column in ("kind", "between", "weight", "evidence"):
        links.add_column(column)
    for link in detail["links"][:40]:
        links.add_row(
            link["kind"], f"{link['source']} – {link['target']}", f"{link['weight']:g}", str(link["evidence"])
        )
    console.print(links)
