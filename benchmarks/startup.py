"""Start-up benchmark: how long `clearsight --version`, `clearsight --help` and a subcommand's help take, as a user
starts them (the installed console script, a new process each time), against baselines measured in the same run:
the bare interpreter, `import duckdb` and `import typer` (what any Typer command pays). Target (issue #14):
`--version` and `--help` at most 0.3 s on the 2-core development machine.

    python benchmarks/startup.py              # 15 runs of each, alternating
    python benchmarks/startup.py --runs 30
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

OUT = Path(__file__).resolve().parent / "out"
console = Console(width=160)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("clearsight")
    return [str(script)] if script.exists() else [shutil.which("clearsight") or "clearsight"]


def cases() -> dict[str, list[str]]:
    clearsight = _command()
    return {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "python -c 'import typer' (baseline)": [sys.executable, "-c", "import typer"],
        "python -c 'import duckdb' (baseline)": [sys.executable, "-c", "import duckdb"],
        "clearsight --version": [*clearsight, "--version"],
        "clearsight --help": [*clearsight, "--help"],
        "clearsight ingest ocds --help": [*clearsight, "ingest", "ocds", "--help"],
        "clearsight flags list --json": [*clearsight, "flags", "list", "--json"],
    }


def run_once(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KB) of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args()
    commands = cases()
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm the file cache once
        run_once(command)
    for number in range(arguments.runs):
        # Alternate the order so that no case always runs right after the same other one.
        order = list(commands.items()) if number % 2 == 0 else list(reversed(commands.items()))
        for name, command in order:
            wall, cpu, _rss = run_once(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
        console.print(f"run {number + 1}/{arguments.runs}", end="\r", highlight=False)
    baseline = statistics.median(walls["python -c pass (baseline)"])
    table = Table(title=f"start-up, {arguments.runs} runs each (median and minimum; new process every run)")
    for column in ("command", "wall median", "wall min", "CPU median", "vs. bare python", "target"):
        table.add_column(column, justify="left" if column == "command" else "right")
    results = {}
    for name in commands:
        median = statistics.median(walls[name])
        target = "≤ 0.30 s" if name in {"clearsight --version", "clearsight --help"} else ""
        met = "" if not target else (" met" if median <= 0.30 else " NOT met")
        table.add_row(
            name,
            f"{median:.3f} s",
            f"{min(walls[name]):.3f} s",
            f"{statistics.median(cpus[name]):.3f} s",
            f"{median / baseline:.1f}×",
            target + met,
        )
        results[name] = {
            "wall_median": median,
            "wall_min": min(walls[name]),
            "cpu_median": statistics.median(cpus[name]),
        }
    console.print(table)
    OUT.mkdir(exist_ok=True)
    (OUT / "startup.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
