"""Red-flag benchmark: end to end (ingest + every indicator + risk scores), and indicators vs ground truth.

For each input, `clearsight ingest ocds` then `clearsight flags run` run as separate processes into a fresh
DuckDB file; the figure is compiled releases per second over both, and the peak RSS of either (process tree).
The side-by-side comparison with Cardinal on the same files is `benchmarks/cardinal.py` (`make bench-cardinal`).
Precision and recall of each indicator are measured against the synthetic data's ground truth.

    python benchmarks/flags.py          # real-compiled x100 and 100k synthetic processes
    python benchmarks/flags.py --full   # also 1M synthetic processes
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import CLEARSIGHT, OUT, replicated_real_input, run_measured, synthetic_input

console = Console(width=200)

# Which indicator should catch which planted problem (process level unless noted).
EXPECTED = {
    "short_submission_period": ["R003"],
    "single_bidder": ["R018"],
    "identical_bids": ["R028"],
    "disqualified_lowest_bid": ["R036"],
    "late_winning_bid": ["R030"],
    "amendment_inflation": ["C006", "C007"],
    "split_purchase": ["C008"],
    "cartel_rotation": ["R024", "N002"],
}


def end_to_end(name: str, path: Path) -> dict[str, object]:
    database = OUT / f"bench-flags-{name}.duckdb"
    for leftover in (database, Path(f"{database}.wal"), Path(f"{database}-ledger.sqlite")):
        leftover.unlink(missing_ok=True)
    console.print(f"[bold]{name}[/]: ingest + flags …")
    ingest_seconds, ingest_rss, ingest_out = run_measured(
        [*CLEARSIGHT, "--db", str(database), "ingest", "ocds", str(path), "--dataset", name, "--json"]
    )
    flags_seconds, flags_rss, flags_out = run_measured(
        [*CLEARSIGHT, "--db", str(database), "flags", "run", "--dataset", name, "--json"]
    )
    releases = json.loads(ingest_out)["releases_read"]
    flags = json.loads(flags_out)
    seconds = ingest_seconds + flags_seconds
    rate = releases / seconds
    return {
        "input": name,
        "releases": releases,
        "indicators": len(flags["counts"]),
        "ingest_seconds": round(ingest_seconds, 1),
        "flags_seconds": round(flags_seconds, 1),
        "releases_per_second": round(rate),
        "peak_rss_megabytes": round(max(ingest_rss, flags_rss) / 1e6),
        "database": str(database),
    }


def precision_recall(database: str, dataset: str, truth: Path) -> list[dict[str, object]]:
    planted: dict[str, set[str]] = defaultdict(set)
    with open(truth, newline="") as handle:
        for row in csv.DictReader(handle):
            planted[row["problem"]].add(row["ocid"])
    connection = duckdb.connect(database, read_only=True)
    run = connection.execute(
        "SELECT run_id FROM flag_runs WHERE dataset = ? ORDER BY started_at DESC LIMIT 1", [dataset]
    ).fetchone()[0]
    flagged: dict[str, set[str]] = defaultdict(set)
    for code, ocid in connection.execute(
        "SELECT indicator, ocid FROM flag_results WHERE run_id = ? AND status = 'flagged' AND subject_type = 'process'",
        [run],
    ).fetchall():
        flagged[code].add(ocid)
    rows = []
    for problem, codes in EXPECTED.items():
        for code in codes:
            hits = flagged[code] & planted[problem]
            rows.append(
                {
                    "problem": problem,
                    "indicator": code,
                    "planted": len(planted[problem]),
                    "flagged": len(flagged[code]),
                    "true_positives": len(hits),
                    "precision": round(len(hits) / len(flagged[code]), 3) if flagged[code] else None,
                    "recall": round(len(hits) / len(planted[problem]), 3) if planted[problem] else None,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also 1M synthetic processes")
    arguments = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cases = [("real-x100", replicated_real_input(100)), ("synthetic-100k", synthetic_input(100_000))]
    if arguments.full:
        cases.append(("synthetic-1M", synthetic_input(1_000_000)))
    results = [end_to_end(name, path) for name, path in cases if path is not None]
    table = Table(title="clearsight end to end: ingest + all indicators + risk scores")
    for column in list(results[0])[:-1]:
        table.add_column(column.replace("_", " "), justify="right")
    for row in results:
        table.add_row(
            *(
                f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
                for key, value in row.items()
                if key != "database"
            )
        )
    console.print(table)
    quality = precision_recall(str(results[1]["database"]), "synthetic-100k", OUT / "synthetic-100000.truth.csv")
    table = Table(title="indicators vs planted problems (synthetic 100k)")
    for column in quality[0]:
        table.add_column(column.replace("_", " "), justify="right")
    for row in quality:
        table.add_row(*(str(value) for value in row.values()))
    console.print(table)
    (OUT / "flags.json").write_text(json.dumps({"end_to_end": results, "ground_truth": quality}, indent=2))
    console.print(f"written to {OUT / 'flags.json'}")


if __name__ == "__main__":
    main()
