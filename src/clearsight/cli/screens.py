"""`clearsight screens ...`: bid-rigging screens, and the cartel classifier's training and evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clearsight.cli.common import JsonOption, command_group, console, fail, print_json, state
from clearsight.engine import EngineError

screens_app = command_group("Bid-rigging screens per tender and the cartel classifier.")
COLLUSION_DATA = Path("..") / "shared" / "data" / "collusion"


@screens_app.command("run")
def run_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d")] = "default",
    profile: Annotated[str | None, typer.Option(help="Profile (main currency, exclusions).")] = None,
    minimum_bids: Annotated[int, typer.Option(min=2, help="Bids a tender needs to be screened.")] = 4,
    json_output: JsonOption = False,
) -> None:
    """Compute the screens of every tender (and lot) and its calibrated cartel probability → screen_results."""
    from rich.table import Table

    from clearsight.flags.profile import ProfileError, load_profile
    from clearsight.screens.run import run_screens

    try:
        settings = load_profile(profile)
    except ProfileError as error:
        fail(str(error), 2)
    with state.backend(spark=True, what="`screens run`") as backend:
        try:
            summary = run_screens(backend, dataset, settings, minimum_bids)
            top = backend.query(
                "SELECT ocid, lot_id, bids, cartel_probability FROM screen_results WHERE run_id = ? "
                "AND cartel_probability IS NOT NULL ORDER BY cartel_probability DESC, ocid LIMIT 10",
                [summary.run_id],
            )
        except EngineError as error:
            fail(str(error))
    if json_output:
        print_json(summary.to_dict())
        return
    console.print(
        f"{summary.run_id}: {summary.screened:,} tenders screened, {summary.insufficient:,} with fewer "
        f"than {minimum_bids} bids"
    )
    table = Table(title="highest cartel probabilities")
    for column in ("ocid", "lot", "bids", "probability"):
        table.add_column(column)
    for ocid, lot, bids, probability in top:
        table.add_row(ocid, lot or "", str(bids), f"{probability:.2f}")
    console.print(table)


@screens_app.command("evaluate")
def evaluate_command(
    data: Annotated[Path, typer.Option(help="Folder of the labelled collusion datasets.")] = COLLUSION_DATA,
    json_output: JsonOption = False,
) -> None:
    """Evaluate the classifier: grouped 5-fold CV per dataset (own tenders only, and adding other countries' tenders
    where an inner CV on the training folds says it helps) and leave-one-dataset-out, against the baselines."""
    from rich.table import Table

    from clearsight.screens.classifier import evaluate

    if not data.exists():
        fail(f"{data}: no labelled data (see ../shared/data/collusion/README)", 2)
    result = evaluate(data)
    if json_output:
        print_json(result)
        return
    for section, rows in (
        ("within each dataset (grouped 5-fold CV)", result["within_dataset_grouped_cv"]),
        (
            "within each dataset, adding the other countries' tenders where an inner CV on the training folds says "
            "it helps",
            result["within_dataset_borrowing_when_it_helps"],
        ),
        ("train on the others, test on one", result["leave_one_dataset_out"]),
    ):
        table = Table(title=section)
        for column in ("dataset", "tenders", "auc", "baseline auc", "balanced accuracy", "precision top 10%"):
            table.add_column(column)
        for name, row in rows.items():
            table.add_row(
                name,
                str(row["tenders"]),
                f"{row['auc']:.3f}",
                str(row.get("baseline_auc", "")),
                f"{row['balanced_accuracy']:.3f}",
                f"{row['precision_at_top_10pct']:.3f}",
            )
        console.print(table)


@screens_app.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="Folder of the labelled collusion datasets.")] = COLLUSION_DATA,
    out: Annotated[Path, typer.Option(help="Model file to write.")] = Path(
        "src/clearsight/screens/model/cartel_model.pkl"
    ),
    json_output: JsonOption = False,
) -> None:
    """Train the shipped classifier on all labelled datasets (reproducible: fixed seed)."""
    from clearsight.screens.classifier import train

    if not data.exists():
        fail(f"{data}: no labelled data (see ../shared/data/collusion/README)", 2)
    record = train(data, out)
    if json_output:
        print_json(record)
    else:
        console.print(f"model written to {out}: {json.dumps(record)}")
