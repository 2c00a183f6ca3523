"""`clearsight screens ...`: bid-rigging screens, and the cartel classifier's training and evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clearsight.cli.common import JsonOption, command_group, console, errors, fail, print_json, state
from clearsight.engine import EngineError

screens_app = command_group("Bid-rigging screens per tender and the cartel classifier.")


@screens_app.command("run")
def run_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d")] = "default",
    profile: Annotated[str | None, typer.Option(help="Profile (main currency, exclusions).")] = None,
    minimum_bids: Annotated[int, typer.Option(min=2, help="Bids a tender needs to be screened.")] = 4,
    model: Annotated[
        str | None,
        typer.Option(
            help="Also a trained model's probability: a file written by `screens train`, or `shipped` for the trees "
            "trained on the four labelled countries (see docs/screens.md for why they are not the default)."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Compute the screens of every tender (and lot) and its default score → screen_results."""
    from rich.table import Table

    from clearsight.flags.profile import ProfileError, load_profile
    from clearsight.screens.files import load_model
    from clearsight.screens.run import run_screens

    try:
        settings = load_profile(profile)
    except ProfileError as error:
        fail(str(error), 2)
    trained = None
    if model is not None:
        from clearsight.screens.classifier import shipped_model_path

        try:
            trained = load_model(shipped_model_path() if model == "shipped" else Path(model))
        except (OSError, ValueError) as error:
            fail(str(error), 2)
    with state.backend(spark=True, what="`screens run`") as backend:
        try:
            summary = run_screens(backend, dataset, settings, minimum_bids, trained)
            top = backend.query(
                "SELECT ocid, lot_id, bids, cv, spread, score, cartel_probability FROM screen_results "
                "WHERE run_id = ? AND score IS NOT NULL ORDER BY score DESC, ocid LIMIT 10",
                [summary.run_id],
            )
        except EngineError as error:
            fail(str(error))
    if json_output:
        print_json(summary.to_dict())
        return
    console.print(
        f"{summary.run_id}: {summary.screened:,} tenders screened, {summary.insufficient:,} with fewer "
        f"than {minimum_bids} bids, {summary.out_of_domain:,} outside what the screens can judge"
    )
    table = Table(title="tenders whose bids are least dispersed (highest score)")
    for column in ("process", "lot", "bids", "CV", "spread", "score", *(["probability"] if trained else [])):
        table.add_column(column, justify="left" if column in ("process", "lot") else "right")
    for ocid, lot, bids, cv, spread, value, probability in top:
        cells = [ocid, lot or "", str(bids), f"{cv:.3f}", f"{spread:.3f}", f"{value:.2f}"]
        table.add_row(*cells, *([f"{probability:.2f}"] if trained else []))
    console.print(table)


MappingOption = Annotated[
    Path, typer.Option("--mapping", "-m", help="YAML naming the file's columns (tender, amount, bidder, lot, …).")
]
BidFile = Annotated[Path, typer.Argument(help="Bids: CSV (with a header row) or Parquet, one row per bid.")]


LowestPerFirm = Annotated[
    bool,
    typer.Option(
        "--lowest-per-firm",
        help="Each firm's lowest bid in a tender stands for its bids (auctions with successive bids: its final "
        "price). Needs `bidder` in the mapping.",
    ),
]


def _read(
    files: list[Path], mapping_path: Path, require_label: bool = False, lowest_per_firm: bool = False
) -> tuple[Any, list[dict[str, Any]]]:
    """Each file's tenders, after reporting what was read and rejected (on stderr)."""
    from clearsight.registry.mapping import MappingError
    from clearsight.screens.bids import load_bid_mapping
    from clearsight.screens.files import read_tenders

    for path in [*files, mapping_path]:
        if not path.exists():
            fail(f"{path}: no such file", 2)
    try:
        mapping = load_bid_mapping(mapping_path)
        tables, reports = read_tenders(files, mapping, require_label, lowest_per_firm)
    except MappingError as error:
        fail(str(error), 2)
    for report in reports:
        errors.print(f"{report.file}: {report.rows:,} rows, {report.loaded:,} bids read, {report.rejected:,} rejected")
        for reject in report.first_rejects[:10]:
            column = f" column {reject['column']}" if reject["column"] else ""
            errors.print(
                f"  [yellow]rejected[/] {report.file} line {reject['line']}{column}: {reject['reason']}"
                + (f" ({reject['value']!r})" if reject["value"] is not None else "")
            )
        if report.rejected > 10:
            errors.print(f"  … {report.rejected - 10:,} more rejected rows: {dict(report.reasons)}")
    return tables, [report.to_dict() for report in reports]


@screens_app.command("score")
def score_command(
    path: BidFile,
    mapping: MappingOption,
    out: Annotated[
        Path | None, typer.Option(help="Every tender with its screens, status and score (.csv/.parquet).")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Also the probability of a model written by `screens train` (a pickle: yours).")
    ] = None,
    lowest_per_firm: LowestPerFirm = False,
    json_output: JsonOption = False,
) -> None:
    """Screen every tender of a bid table: the default score (bids less dispersed than reference tenders → closer
    to 1), or insufficient_data / out_of_domain with the reason."""
    from rich.table import Table

    from clearsight.linkage.files import write_table
    from clearsight.screens.files import default_reference, load_model, score
    from clearsight.screens.score import Reference

    tables, reports = _read([path], mapping, lowest_per_firm=lowest_per_firm)
    trained = None
    if model is not None:
        try:
            trained = load_model(model)
        except (OSError, ValueError) as error:
            fail(str(error), 2)
    reference = Reference.from_dict(trained["reference"]) if trained else default_reference()
    result = score(next(iter(tables.values())), reference, trained).drop_columns(["source"])
    if out is not None:
        write_table(result, out)
    statuses = result.column("status").to_pylist()
    summary = {
        "input": reports[0],
        "tenders": result.num_rows,
        **{status: statuses.count(status) for status in ("scored", "insufficient_data", "out_of_domain")},
        "out": str(out) if out else None,
    }
    if json_output:
        print_json(summary)
        return
    console.print(
        f"{result.num_rows:,} tenders: {summary['scored']:,} scored, {summary['insufficient_data']:,} with too few "
        f"bids, {summary['out_of_domain']:,} outside what the screens can judge"
        + (f"; written to {out}" if out else "")
    )
    rows = sorted(
        (row for row in result.to_pylist() if row["score"] is not None), key=lambda row: (-row["score"], row["tender"])
    )
    table = Table(title="tenders whose bids are least dispersed (highest score)")
    for column in ("tender", "lot", "bids", "CV", "spread", "score", *(["probability"] if trained else [])):
        table.add_column(column, justify="left" if column in ("tender", "lot") else "right")
    for row in rows[:15]:
        cells = [str(row["tender"]), row["lot"] or "", str(row["bids"]), f"{row['cv']:.3f}", f"{row['spread']:.3f}"]
        cells.append(f"{row['score']:.2f}")
        if trained:
            cells.append(f"{row['probability']:.2f}")
        table.add_row(*cells)
    console.print(table)


@screens_app.command("evaluate")
def evaluate_command(
    path: BidFile,
    mapping: MappingOption,
    lowest_per_firm: LowestPerFirm = False,
    json_output: JsonOption = False,
) -> None:
    """How well the default score ranks a labelled bid table's tenders (ROC AUC, PR AUC), beside each single screen
    and a random forest retrained on the file (5-fold CV), computed in the same run."""
    from rich.table import Table

    from clearsight.screens.files import default_reference, evaluate

    tables, reports = _read([path], mapping, require_label=True, lowest_per_firm=lowest_per_firm)
    result = {"input": reports[0], **evaluate(next(iter(tables.values())), default_reference())}
    if json_output:
        print_json(result)
        return
    console.print(
        f"{result['tenders']:,} tenders scored ({result['collusive']:,} collusive), {result['insufficient_data']:,} "
        f"with too few bids, {result['out_of_domain']:,} outside what the screens can judge"
    )
    if result["auc"] is None:
        console.print(result["reason"])
        return
    table = Table(title=f"ROC AUC on {path.name} (0.5 = chance)")
    table.add_column("ranking")
    table.add_column("ROC AUC", justify="right")
    table.add_row("default score", f"{result['auc']:.3f}")
    for name, value in result["baselines"].items():
        label = "random forest retrained on this file (5-fold CV)" if name.startswith("random") else f"{name} alone"
        table.add_row(label, "—" if value is None else f"{value:.3f}")
    console.print(table)
    console.print(f"PR AUC {result['pr_auc']:.3f} (collusive share {result['collusive_share']:.1%})")


@screens_app.command("train")
def train_command(
    files: Annotated[list[Path], typer.Argument(help="Labelled bid tables (CSV or Parquet), any number.")],
    mapping: MappingOption,
    out: Annotated[Path, typer.Option(help="Model file to write (a pickle), with a .json record beside it.")],
    lowest_per_firm: LowestPerFirm = False,
    json_output: JsonOption = False,
) -> None:
    """Train the trees on your own labelled cases (fixed seed: same files, same model); use the model with
    `screens score --model`."""
    from clearsight.screens.files import train

    tables, _ = _read(files, mapping, require_label=True, lowest_per_firm=lowest_per_firm)
    try:
        record = train(tables, out)
    except ValueError as error:
        fail(str(error), 2)
    if json_output:
        print_json(record)
        return
    trained = ", ".join(
        f"{name} {counts['tenders']:,} tenders ({counts['collusive']:,} collusive)"
        for name, counts in record["trained_on"].items()
    )
    console.print(f"model written to {out} (record {out.with_suffix('.json')}): trained on {trained}")


@screens_app.command("firms")
def firms_command(
    path: BidFile,
    mapping: MappingOption,
    out: Annotated[Path | None, typer.Option(help="Every firm with its screens and score (.csv/.parquet).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Firm-level screens of a bid table with bidders (participation, co-bidding, rotating wins) and a score
    between 0 and 1; with labels in the file, how well they rank the cartel members (ROC AUC)."""
    from rich.table import Table

    from clearsight.linkage.files import write_table
    from clearsight.registry.mapping import MappingError
    from clearsight.screens.bids import load_bid_mapping
    from clearsight.screens.files import default_reference, read_firms
    from clearsight.screens.firms import evaluate_firms

    for given in (path, mapping):
        if not given.exists():
            fail(f"{given}: no such file", 2)
    try:
        firms, report = read_firms(path, load_bid_mapping(mapping), default_reference())
    except MappingError as error:
        fail(str(error), 2)
    errors.print(f"{report.file}: {report.rows:,} rows, {report.loaded:,} bids read, {report.rejected:,} rejected")
    if out is not None:
        write_table(firms, out)
    labelled = any(value is not None for value in firms.column("label").to_pylist())
    result = {"input": report.to_dict(), "firms": firms.num_rows, "out": str(out) if out else None}
    if labelled:
        result["evaluation"] = evaluate_firms(firms)
    if json_output:
        print_json(result)
        return
    rows = sorted(firms.to_pylist(), key=lambda row: (-(row["score"] or 0), row["firm"]))
    table = Table(title=f"{firms.num_rows:,} firms: most involved in repeated, rotating co-bidding first")
    for column in ("firm", "tenders", "co-bidders", "closest rival (tenders)", "rotating rivals", "wins", "score"):
        table.add_column(column, justify="left" if column == "firm" else "right")
    for row in rows[:15]:
        wins = "" if row["win_share"] is None else f"{row['win_share']:.0%}"
        table.add_row(
            row["firm"],
            f"{row['tenders']:,}",
            f"{row['co_bidders']:,}",
            f"{row['closest_rival_tenders']:,}",
            f"{row['rotating_rivals']:,}",
            wins,
            f"{row['score']:.2f}",
        )
    console.print(table)
    if labelled and result["evaluation"]["auc"] is not None:
        evaluation = result["evaluation"]
        singles = ", ".join(f"{name} {value:.3f}" for name, value in evaluation["baselines"].items())
        console.print(
            f"{evaluation['members']:,} of {evaluation['firms']:,} labelled firms are cartel members: "
            f"firm score ROC AUC {evaluation['auc']:.3f} (each screen alone: {singles})"
        )
