"""Screens and supplier-network benchmark, and the cartel classifier's metrics.

1. Model card (docs/screens.md): per labelled dataset of ../shared/data/collusion, the default score and the trained
   trees, each with only the other three countries to learn from; the trees in grouped 5-fold CV on the dataset
   itself; a random forest retrained on the dataset and every single screen, on the same tenders in the same run.
2. Scale: synthetic procurement with planted cartels, about 1M bids and 80-100k suppliers by default; times
   `screens run`, `network build` (links + Louvain communities) and the network indicators (`flags run --only
   N002,N003`), each as a ratio to a plain DuckDB aggregate over the same bids measured in the same run (the machine is
   shared and noisy); then recall and precision of the planted cartel processes among the top 1% of tenders ranked by
   network group score (N003 value), then the default screen score.

    python benchmarks/screens.py [--processes 280000] [--skip-classifier]

Figures go to benchmarks/out/screens.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import CLEARSIGHT, OUT, REPO, run_measured, synthetic_input

console = Console(width=160)
COLLUSION = REPO.parent / "shared" / "data" / "collusion"


def model_card() -> dict[str, object] | None:
    """The model card of docs/screens.md, per labelled dataset: the default score and the trees, each trained (or
    referenced) on the other three datasets; the trees in grouped 5-fold CV on the dataset itself; a random forest
    retrained on the dataset (5-fold CV) and every single screen — all on the same tenders, in this run."""
    if not COLLUSION.exists():
        console.print(f"[yellow]{COLLUSION} absent: model card skipped[/]")
        return None
    from clearsight.screens.bids import load_bid_mapping
    from clearsight.screens.classifier import model_card as card
    from clearsight.screens.files import evaluate, read_tenders
    from clearsight.screens.score import build_reference

    console.print("[bold]model card[/]: leave one country out, own-country CV, baselines …")
    started = time.perf_counter()
    files = sorted(COLLUSION.glob("*.csv"))
    tables, _ = read_tenders(files, load_bid_mapping(REPO / "benchmarks" / "collusion.yaml"), require_label=True)
    result = card(tables)
    for name, row in result["datasets"].items():
        reference = build_reference({other: table for other, table in tables.items() if other != name})
        row["file"] = evaluate(tables[name], reference)
    seconds = time.perf_counter() - started
    table = Table(title=f"cartel screens, tender-level ROC AUC ({seconds:.0f} s)")
    for column in (
        "dataset",
        "tenders",
        "collusive",
        "default, other countries' reference",
        "trees trained on other countries",
        "best single screen",
        "trees, own-country CV",
        "random forest, own-country CV",
    ):
        table.add_column(column, justify="right")
    for name, row in result["datasets"].items():
        best = max(row["single_screens"].items(), key=lambda item: item[1])
        table.add_row(
            name.split("_")[2],
            f"{row['default_other_countries']['tenders']:,}",
            f"{row['default_other_countries']['collusive_share']:.0%}",
            f"{row['default_other_countries']['auc']:.3f}",
            f"{row['trees_other_countries']['auc']:.3f}",
            f"{best[1]:.3f} ({best[0]})",
            f"{row['trees_own_tenders_grouped_cv']['auc']:.3f}",
            f"{row['file']['baselines']['random_forest_grouped_cv']:.3f}",
        )
    console.print(table)
    result["seconds"] = round(seconds, 1)
    return result


def baseline_seconds(database: Path, dataset: str) -> float:
    """A plain DuckDB aggregate over the same bids: count, mean and standard deviation per tender."""
    connection = duckdb.connect(str(database), read_only=True)
    started = time.perf_counter()
    connection.execute(
        "SELECT ocid, count(*), avg(value_amount), stddev_samp(value_amount) FROM bids WHERE dataset = ? GROUP BY ocid",
        [dataset],
    ).fetchall()
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def scale(processes: int) -> dict[str, object]:
    data = synthetic_input(processes)
    truth = data.with_suffix(".truth.csv")
    database = OUT / f"bench-screens-{processes}.duckdb"
    for leftover in (database, Path(f"{database}.wal"), Path(f"{database}-ledger.sqlite")):
        leftover.unlink(missing_ok=True)
    dataset = "synthetic"
    console.print(f"[bold]scale[/]: ingest {data.name} (not timed against the target) …")
    ingest_seconds, _, _ = run_measured(
        [*CLEARSIGHT, "--db", str(database), "ingest", "ocds", str(data), "-d", dataset]
    )
    steps = {}
    peaks = {}
    for name, command in (
        ("screens run", ["screens", "run", "-d", dataset, "--json"]),
        ("network build", ["network", "build", "-d", dataset, "--json"]),
        ("flags N002,N003", ["flags", "run", "-d", dataset, "--only", "N002,N003", "--json"]),
    ):
        console.print(f"  {name} …")
        steps[name], peaks[name], _ = run_measured([*CLEARSIGHT, "--db", str(database), *command])
    baseline = baseline_seconds(database, dataset)
    connection = duckdb.connect(str(database), read_only=True)
    bids, suppliers = connection.execute(
        "SELECT count(*), count(DISTINCT tenderer_id) FROM bid_tenderers WHERE dataset = ?", [dataset]
    ).fetchone()
    groups = connection.execute("SELECT count(*) FROM network_groups WHERE dataset = ?", [dataset]).fetchone()[0]
    connection.execute(f"CREATE TEMP TABLE truth AS SELECT * FROM read_csv('{truth}', header = true)")
    ranked = connection.execute(
        """
        WITH latest AS (SELECT run_id FROM flag_runs ORDER BY started_at DESC LIMIT 1),
        network AS (
            SELECT subject_id AS ocid, value FROM flag_results
            WHERE indicator = 'N003' AND run_id = (SELECT run_id FROM latest)
        ),
        classifier AS (SELECT ocid, max(score) AS probability FROM screen_results GROUP BY ocid),
        tenders AS (
            SELECT p.ocid, coalesce(n.value, 0) AS network, coalesce(c.probability, 0) AS probability
            FROM processes AS p LEFT JOIN network AS n USING (ocid) LEFT JOIN classifier AS c USING (ocid)
            WHERE p.dataset = 'synthetic'
        ),
        planted AS (SELECT DISTINCT ocid FROM truth WHERE problem = 'cartel_rotation')
        SELECT t.ocid IN (SELECT ocid FROM planted) AS cartel,
               row_number() OVER (ORDER BY t.network DESC, t.probability DESC, t.ocid) AS rank
        FROM tenders AS t
        """
    ).fetchall()
    connection.close()
    total = len(ranked)
    planted = sum(1 for cartel, _ in ranked if cartel)
    top = max(1, total // 100)
    found = sum(1 for cartel, rank in ranked if cartel and rank <= top)
    found_at_k = sum(1 for cartel, rank in ranked if cartel and rank <= planted)
    pipeline = sum(steps.values())
    result = {
        "processes": total,
        "bids": bids,
        "suppliers": suppliers,
        "groups": groups,
        "ingest_seconds": round(ingest_seconds, 1),
        "seconds": {name: round(value, 1) for name, value in steps.items()},
        "peak_rss_mb": {name: round(value / 2**20) for name, value in peaks.items()},
        "screens_network_communities_seconds": round(steps["screens run"] + steps["network build"], 1),
        "with_indicators_seconds": round(pipeline, 1),
        "baseline_aggregate_seconds": round(baseline, 3),
        "ratio_to_baseline": round(pipeline / baseline, 1),
        "planted_cartel_processes": planted,
        "top_1pct": top,
        "recall_at_top_1pct": round(found / planted, 3) if planted else None,
        "precision_at_top_1pct": round(found / top, 3),
        "recall_at_top_k_planted": round(found_at_k / planted, 3) if planted else None,
    }
    table = Table(title=f"{total:,} processes, {bids:,} bids, {suppliers:,} suppliers")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("× baseline aggregate", justify="right")
    table.add_column("peak RSS MB", justify="right")
    for name, value in steps.items():
        table.add_row(name, f"{value:.1f}", f"{value / baseline:.0f}", f"{peaks[name] / 2**20:.0f}")
    table.add_row("screens + network + communities", f"{result['screens_network_communities_seconds']:.1f}", "", "")
    console.print(table)
    console.print(
        f"planted cartel processes: {planted:,}; top 1% = {top:,} tenders: recall {result['recall_at_top_1pct']}, "
        f"precision {result['precision_at_top_1pct']}; top {planted:,}: recall {result['recall_at_top_k_planted']}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=280_000, help="synthetic processes (280k ≈ 1M bids)")
    parser.add_argument("--skip-classifier", action="store_true", help="no model card")
    parser.add_argument("--only-card", action="store_true", help="the model card alone, not the synthetic scale run")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = {
        "model_card": None if args.skip_classifier else model_card(),
        "scale": None if args.only_card else scale(args.processes),
    }
    (OUT / "screens.json").write_text(json.dumps(results, indent=2))
    console.print(f"written to {OUT / 'screens.json'}")


if __name__ == "__main__":
    main()
