"""Ingest benchmark: compiled releases/s, MB/s and peak RSS (whole process tree) of `clearsight ingest ocds`.

Inputs (made in benchmarks/out/, reused when present):
  - synthetic compiled releases at 100k and 1M processes (`clearsight synth procurement`);
  - ../shared/data/ocds/real-compiled/*.jsonl replicated N times with suffixed ocids (skipped when absent).

Each ingest runs as its own `clearsight` process into a fresh DuckDB file, so that peak RSS is measured for
the real command (main process plus its workers, sampled from /proc). The baseline measured in the same run is
parsing the same file with orjson, line by line, in one process: the floor of any Python JSON ingest. Figures
are printed as a table and written to benchmarks/out/ingest.json.

    python benchmarks/ingest.py                 # full: synthetic 100k and 1M, real x100
    python benchmarks/ingest.py --quick         # 10k synthetic, real x10 (a minute or two)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
REAL = REPO.parent / "shared" / "data" / "ocds" / "real-compiled"
CLEARSIGHT = [sys.executable, "-m", "clearsight"]
console = Console(width=220)


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run_measured(command: list[str]) -> tuple[float, int, str]:
    """Run a command; return wall seconds, peak RSS of its process tree, stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(process.pid))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    return time.perf_counter() - started, peak, stdout


def parse_baseline(path: Path) -> float:
    """Lines per second of orjson.loads over the file (one process)."""
    started = time.perf_counter()
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                orjson.loads(line)
                count += 1
    return count / (time.perf_counter() - started)


def synthetic_input(processes: int) -> Path:
    path = OUT / f"synthetic-{processes}.jsonl"
    if not path.exists():
        console.print(f"generating {processes:,} synthetic processes → {path}")
        subprocess.run(
            [
                *CLEARSIGHT,
                "synth",
                "procurement",
                "--processes",
                str(processes),
                "--seed",
                "1",
                "--out",
                str(path),
                "--json",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def replicate(sources: list[Path], times: int, path: Path) -> Path:
    """Every release of `sources` `times` over, each copy's ocids suffixed (-copy0, -copy1, ...): the same buyers and
    suppliers recur across many processes, as in a publisher's history."""
    lines = [line for file in sources for line in file.read_bytes().splitlines() if line.strip()]
    with open(path, "wb") as out:
        for copy in range(times):
            for line in lines:
                release = orjson.loads(line)
                release["ocid"] = f"{release['ocid']}-copy{copy}"
                out.write(orjson.dumps(release) + b"\n")
    return path


def replicated_real_input(times: int) -> Path | None:
    if not REAL.exists():
        console.print(f"[yellow]skipping real data: {REAL} is absent[/]")
        return None
    path = OUT / f"real-compiled-x{times}.jsonl"
    if not path.exists():
        console.print(f"replicating real-compiled x{times} → {path}")
        replicate(sorted(REAL.glob("*.jsonl")), times, path)
    return path


def measure(name: str, path: Path) -> dict[str, float | int | str]:
    database = OUT / f"bench-{name}.duckdb"
    for leftover in (database, Path(f"{database}.wal")):
        leftover.unlink(missing_ok=True)
    size = path.stat().st_size
    console.print(f"[bold]{name}[/]: {size / 1e6:,.0f} MB — ingesting …")
    seconds, peak, stdout = run_measured(
        [*CLEARSIGHT, "--db", str(database), "ingest", "ocds", str(path), "--dataset", name, "--json"]
    )
    summary = json.loads(stdout)
    database.unlink(missing_ok=True)
    baseline = parse_baseline(path)
    releases = summary["releases_read"]
    return {
        "input": name,
        "releases": releases,
        "megabytes": round(size / 1e6, 1),
        "bytes_per_release": round(size / max(releases, 1)),
        "seconds": round(seconds, 2),
        "releases_per_second": round(releases / seconds),
        "megabytes_per_second": round(size / 1e6 / seconds, 1),
        "peak_rss_megabytes": round(peak / 1e6),
        "orjson_parse_lines_per_second": round(baseline),
        "ratio_to_parse_baseline": round(releases / seconds / baseline, 3),
        "processes_written": summary["processes_written"],
        "rejected": summary["rejected"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small inputs (minutes, not tens of minutes)")
    arguments = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, Path | None]] = []
    if arguments.quick:
        cases += [("synthetic-10k", synthetic_input(10_000)), ("real-x10", replicated_real_input(10))]
    else:
        cases += [
            ("synthetic-100k", synthetic_input(100_000)),
            ("real-x100", replicated_real_input(100)),
            ("synthetic-1M", synthetic_input(1_000_000)),
        ]
    results = [measure(name, path) for name, path in cases if path is not None]
    table = Table(title=f"clearsight ingest on {os.cpu_count()} cores")
    for column in (
        "input",
        "releases",
        "megabytes",
        "bytes_per_release",
        "seconds",
        "releases_per_second",
        "megabytes_per_second",
        "peak_rss_megabytes",
        "orjson_parse_lines_per_second",
        "ratio_to_parse_baseline",
    ):
        table.add_column(column.replace("_", " "), justify="right" if column != "input" else "left")
    for result in results:
        table.add_row(
            *(
                f"{value:,}" if isinstance(value, int) else str(value)
                for key, value in result.items()
                if key not in ("processes_written", "rejected")
            )
        )
    console.print(table)
    (OUT / "ingest.json").write_text(json.dumps(results, indent=2))
    console.print(f"written to {OUT / 'ingest.json'}")


if __name__ == "__main__":
    main()
