"""clearsight against Cardinal, side by side: the main job (OCDS in, red flags out) on the same files in one run.

Cardinal (Open Contracting Partnership's `ocdscardinal`, read from ../shared/tools/cardinal/ or PATH) runs
`prepare` then `indicators` with its default settings; clearsight runs `ingest ocds` then `flags run` (every
indicator and the risk scores) into a fresh DuckDB file. Each is a new process per step, measured from outside:
wall time, CPU time (user + system of the process and every descendant it waited for, workers included) and peak
RSS of the process tree (sampled every 0.1 s from /proc). Which tool goes first alternates between repetitions, so
that a warm page cache or a noisy neighbour does not favour one side; figures are the minimum and median over the
repetitions. Two floors, measured in the same run, show what any implementation pays: parsing every line with
orjson in one Python process, and DuckDB's `read_json` with the top-level columns declared.

    python benchmarks/cardinal.py                 # real-compiled x100 and 100k synthetic processes, 3 repetitions
    python benchmarks/cardinal.py --quick         # real-compiled x10 and 10k synthetic, 3 repetitions
    python benchmarks/cardinal.py --huge          # also 1M synthetic processes (5.3 GB)
    python benchmarks/cardinal.py --repetitions 5

When the binary is absent or cannot run here, the benchmark says why and still measures clearsight and the floors.
Results: a table on the terminal and benchmarks/out/cardinal.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import CLEARSIGHT, OUT, REPO, replicated_real_input, run_measured, synthetic_input

console = Console(width=220)
SHARED_BINARY = REPO.parent / "shared" / "tools" / "cardinal" / "ocdscardinal"


def cardinal_binary() -> tuple[str | None, str]:
    """The Cardinal binary to use and its version, or None and the reason it cannot be used."""
    candidates = [str(SHARED_BINARY)] if SHARED_BINARY.exists() else []
    if found := shutil.which("ocdscardinal"):
        candidates.append(found)
    if not candidates:
        return None, f"no Cardinal binary: {SHARED_BINARY} is absent and `ocdscardinal` is not on PATH"
    binary = candidates[0]
    try:
        result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as error:
        return None, f"{binary} cannot run here: {error}"
    if result.returncode != 0:
        return None, f"{binary} --version failed: {result.stderr.strip() or result.returncode}"
    return binary, result.stdout.strip()


def measured(command: list[str]) -> dict[str, float]:
    """Run one command; its wall seconds, CPU seconds (with waited-for descendants) and peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, peak, stdout = run_measured(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss": peak / 1e6, "stdout": stdout}  # type: ignore[dict-item]


def run_cardinal(binary: str, path: Path) -> dict[str, dict[str, float]]:
    settings = OUT / "cardinal-settings.ini"
    if not settings.exists():
        subprocess.run([binary, "init", str(settings)], check=True, capture_output=True)
    prepared = OUT / "cardinal-prepared.jsonl"
    issues = OUT / "cardinal-issues.csv"
    prepare = measured([binary, "prepare", str(path), "-s", str(settings), "-o", str(prepared), "-e", str(issues)])
    indicators = measured([binary, "indicators", str(prepared), "-s", str(settings)])
    prepared.unlink(missing_ok=True)
    issues.unlink(missing_ok=True)
    return {"first": prepare, "second": indicators}


def run_clearsight(name: str, path: Path) -> dict[str, dict[str, float]]:
    database = OUT / f"bench-cardinal-{name}.duckdb"

    def clean() -> None:
        for leftover in (database, Path(f"{database}.wal"), Path(f"{database}-ledger.sqlite")):
            leftover.unlink(missing_ok=True)

    clean()
    base = [*CLEARSIGHT, "--db", str(database)]
    ingest = measured([*base, "ingest", "ocds", str(path), "--dataset", name, "--json"])
    flags = measured([*base, "flags", "run", "--dataset", name, "--json"])
    ingest["releases"] = json.loads(str(ingest["stdout"]))["releases_read"]
    clean()
    return {"first": ingest, "second": flags}


def orjson_floor(path: Path) -> float:
    """CPU seconds to parse every line with orjson in this process."""
    started = time.process_time()
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                orjson.loads(line)
    return time.process_time() - started


def duckdb_floor(path: Path) -> float:
    """CPU seconds (all threads) for DuckDB to read the file with its top-level columns declared."""
    keys = ("ocid", "id", "date", "tag", "buyer", "parties", "planning", "tender", "bids", "awards", "contracts")
    columns = dict.fromkeys(keys, "JSON")
    connection = duckdb.connect()
    before = resource.getrusage(resource.RUSAGE_SELF)
    connection.execute(
        "SELECT count(*) FROM read_json(?, format = 'newline_delimited', columns = "
        + "{"
        + ", ".join(f"'{key}': '{value}'" for key, value in columns.items())
        + "}, maximum_object_size = 1073741824)",
        [str(path)],
    ).fetchall()
    after = resource.getrusage(resource.RUSAGE_SELF)
    connection.close()
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def summarise(runs: list[dict[str, dict[str, float]]]) -> dict[str, float]:
    """Min and median of wall and CPU over repetitions, for both steps and each alone; peak RSS (max)."""
    out: dict[str, float] = {}
    for label, steps in (("total", ("first", "second")), ("first", ("first",)), ("second", ("second",))):
        for measure in ("wall", "cpu"):
            values = [sum(run[step][measure] for step in steps) for run in runs]
            out[f"{label}_{measure}_min"] = round(min(values), 2)
            out[f"{label}_{measure}_median"] = round(statistics.median(values), 2)
    out["rss_max_mb"] = round(max(max(run["first"]["rss"], run["second"]["rss"]) for run in runs))
    return out


def compare(name: str, path: Path, binary: str | None, repetitions: int) -> dict[str, object]:
    size = path.stat().st_size
    console.print(f"[bold]{name}[/]: {size / 1e6:,.0f} MB, {repetitions} repetitions")
    cardinal_runs: list[dict[str, dict[str, float]]] = []
    clearsight_runs: list[dict[str, dict[str, float]]] = []
    releases = 0
    for repetition in range(repetitions):
        order = ["cardinal", "clearsight"] if repetition % 2 == 0 else ["clearsight", "cardinal"]
        for tool in order:
            if tool == "cardinal" and binary is not None:
                cardinal_runs.append(run_cardinal(binary, path))
                run = cardinal_runs[-1]
            elif tool == "clearsight":
                clearsight_runs.append(run_clearsight(name, path))
                run = clearsight_runs[-1]
                releases = int(run["first"]["releases"])
            else:
                continue
            total_wall = run["first"]["wall"] + run["second"]["wall"]
            console.print(f"  repetition {repetition + 1}: {tool} {total_wall:.1f} s")
    result: dict[str, object] = {
        "input": name,
        "megabytes": round(size / 1e6),
        "releases": releases,
        "clearsight": summarise(clearsight_runs),
        "floor_orjson_cpu": round(orjson_floor(path), 2),
        "floor_duckdb_read_json_cpu": round(duckdb_floor(path), 2),
    }
    if cardinal_runs:
        cardinal = summarise(cardinal_runs)
        ours = result["clearsight"]
        assert isinstance(ours, dict)
        result["cardinal"] = cardinal
        # How many times faster clearsight is (below 1: slower), on medians.
        result["speedup_wall"] = round(cardinal["total_wall_median"] / ours["total_wall_median"], 2)
        result["speedup_cpu"] = round(cardinal["total_cpu_median"] / ours["total_cpu_median"], 2)
        result["flags_speedup_wall"] = round(cardinal["second_wall_median"] / ours["second_wall_median"], 2)
        result["flags_speedup_cpu"] = round(cardinal["second_cpu_median"] / ours["second_cpu_median"], 2)
    return result


def show(results: list[dict[str, object]], note: str) -> None:
    table = Table(title=f"OCDS in, red flags out, on {os.cpu_count()} cores ({note}); medians (min)")
    for column in ("input", "tool", "step 1 (ingest / prepare)", "step 2 (flags / indicators)", "total wall",
                   "total CPU", "peak RSS", "clearsight vs Cardinal", "floors: orjson / read_json CPU"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("input", "tool") else "right")
    for result in results:
        for tool in ("cardinal", "clearsight"):
            figures = result.get(tool)
            if not isinstance(figures, dict):
                continue
            ratio = ""
            floors = f"{result['floor_orjson_cpu']} / {result['floor_duckdb_read_json_cpu']} s"
            if tool == "clearsight" and "speedup_wall" in result:
                ratio = (
                    f"{result['speedup_wall']}× wall, {result['speedup_cpu']}× CPU; "
                    f"flags alone {result['flags_speedup_wall']}× wall, {result['flags_speedup_cpu']}× CPU"
                )
            table.add_row(
                f"{result['input']} ({result['megabytes']:,} MB, {result['releases']:,} releases)",
                tool,
                f"{figures['first_wall_median']} s",
                f"{figures['second_wall_median']} s",
                f"{figures['total_wall_median']} s ({figures['total_wall_min']})",
                f"{figures['total_cpu_median']} s ({figures['total_cpu_min']})",
                f"{figures['rss_max_mb']:,} MB",
                ratio,
                floors if tool == "clearsight" else "",
            )
    console.print(table)
    console.print("Speed-ups above 1 mean clearsight is faster; below 1, slower.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="real-compiled x10 and 10k synthetic processes")
    parser.add_argument("--huge", action="store_true", help="also 1M synthetic processes (5.3 GB)")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions per tool and input (default 3)")
    arguments = parser.parse_args()
    if arguments.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    OUT.mkdir(parents=True, exist_ok=True)
    binary, note = cardinal_binary()
    console.print(f"Cardinal: {note}" if binary else f"[yellow]{note}: measuring clearsight against the floors only[/]")
    if arguments.quick:
        inputs = [("real-x10", replicated_real_input(10)), ("synthetic-10k", synthetic_input(10_000))]
    else:
        inputs = [("real-x100", replicated_real_input(100)), ("synthetic-100k", synthetic_input(100_000))]
    if arguments.huge:
        inputs.append(("synthetic-1M", synthetic_input(1_000_000)))
    results = [compare(name, path, binary, arguments.repetitions) for name, path in inputs if path is not None]
    show(results, note if binary else "Cardinal not run")
    (OUT / "cardinal.json").write_text(json.dumps({"cardinal": note, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
