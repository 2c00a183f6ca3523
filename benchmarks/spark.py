"""Spark benchmark: the end-to-end pipeline on Spark local mode against DuckDB on the same machine, in the same run.

For each size, synthetic OCDS (`clearsight synth procurement`) is cut into gzipped JSON Lines parts (a publisher's
bulk download; each part is one Spark task, gzip cannot be split). Then, on each engine, each step runs as its own
process, measured for wall time and peak RSS of its process tree:

1. `ingest ocds` (DuckDB: the ingest pipeline with its worker processes; Spark: the Spark-native ingest),
2. `flags run` (every procurement indicator and the risk scores),
3. `screens run` (bid screens and the cartel classifier),
4. `network build` (supplier links and communities).

It prints seconds per step and in total, seconds per million processes, and the Spark / DuckDB ratio; where Spark's
fixed costs (JVM start, a job per query, Parquet files per insert) dominate, the ratio is large and shrinks as the
data grows.

    python benchmarks/spark.py                          # 10,000 and 100,000 processes
    python benchmarks/spark.py --sizes 1000000          # the issue's 1M; 10M needs hours on two cores
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import CLEARSIGHT, OUT, run_measured, synthetic_input

console = Console(width=170)
STEPS = ("ingest", "flags", "screens", "network")


def procurement_codes() -> str:
    """Every indicator but the registry checks (the synthetic procurement data has no registries)."""
    from clearsight.flags.registry import indicators

    return ",".join(item.code for item in indicators() if not item.needs_links)


def parts(size: int, count: int) -> Path:
    """The synthetic input as `count` gzipped JSON Lines files (made once, kept in benchmarks/out)."""
    folder = OUT / f"synthetic-{size}-parts-{count}"
    if folder.exists():
        return folder
    source = synthetic_input(size)
    staging = folder.with_suffix(".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    per_part = -(-size // count)
    with console.status(f"cutting {source.name} into {count} gzipped parts"), source.open("rb") as lines:
        for number in range(count):
            with gzip.open(staging / f"part-{number:03d}.jsonl.gz", "wb", compresslevel=3) as part:
                for _ in range(per_part):
                    line = lines.readline()
                    if not line:
                        break
                    part.write(line)
    staging.rename(folder)
    return folder


def steps(base: list[str], data: Path, codes: str) -> dict[str, list[str]]:
    return {
        "ingest": [*base, "ingest", "ocds", str(data), "-d", "syn", "--json"],
        "flags": [*base, "flags", "run", "-d", "syn", "--only", codes, "--json"],
        "screens": [*base, "screens", "run", "-d", "syn", "--json"],
        "network": [*base, "network", "build", "-d", "syn", "--json"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--parts", type=int, default=8, help="Gzipped input files per size.")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--memory", default="4GB", help="DuckDB memory limit and Spark driver memory.")
    args = parser.parse_args()
    codes = procurement_codes()
    table = Table(
        "processes", "step", "DuckDB s", "Spark s", "Spark / DuckDB", "DuckDB s per 1M", "Spark s per 1M",
        "DuckDB peak RSS", "Spark peak RSS",
        title=f"end to end (ingest, flags, screens, network), Spark {args.master} vs DuckDB, same machine",
    )  # fmt: skip
    results = []
    for size in args.sizes:
        data = parts(size, args.parts)
        folder = OUT / f"spark-{size}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        memory = ["--memory-limit", args.memory]
        engines = {
            "duckdb": [*CLEARSIGHT, "--db", str(folder / "duck.duckdb"), *memory],
            "spark": [*CLEARSIGHT, "--engine", "spark", "--spark-master", args.master, "--db", str(folder / "spark"),
                      *memory],
        }  # fmt: skip
        measured: dict[str, dict[str, tuple[float, int]]] = {"duckdb": {}, "spark": {}}
        for engine, base in engines.items():
            for step, command in steps(base, data, codes).items():
                with console.status(f"{size:,} processes: {step} on {engine}"):
                    seconds, rss, _ = run_measured(command)
                measured[engine][step] = (seconds, rss)
                console.print(f"{size:,} {engine} {step}: {seconds:.1f} s, {rss / 2**30:.2f} GB")
        per_million = 1_000_000 / size
        for step in (*STEPS, "total"):
            if step == "total":
                duck = sum(value[0] for value in measured["duckdb"].values())
                spark = sum(value[0] for value in measured["spark"].values())
                duck_rss = max(value[1] for value in measured["duckdb"].values())
                spark_rss = max(value[1] for value in measured["spark"].values())
            else:
                (duck, duck_rss), (spark, spark_rss) = measured["duckdb"][step], measured["spark"][step]
            table.add_row(
                f"{size:,}", step, f"{duck:.1f}", f"{spark:.1f}", f"{spark / duck:.1f}×",
                f"{duck * per_million:,.0f}", f"{spark * per_million:,.0f}",
                f"{duck_rss / 2**30:.2f} GB", f"{spark_rss / 2**30:.2f} GB",
                end_section=step == "total",
            )  # fmt: skip
        results.append(
            {
                "processes": size,
                "parts": args.parts,
                "input_bytes": sum(path.stat().st_size for path in data.iterdir()),
                **{f"{engine}_{step}_s": value[0] for engine in measured for step, value in measured[engine].items()},
                **{f"{engine}_{step}_rss": value[1] for engine in measured for step, value in measured[engine].items()},
            }
        )
        (OUT / "spark.json").write_text(json.dumps(results, indent=2))
    console.print(table)


if __name__ == "__main__":
    main()
