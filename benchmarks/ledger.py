"""Ledger benchmark: batched appends/s, proof generation and verification times, full verification leaves/s.

Builds a log of 1M and then 10M entries (about 110 bytes each, like a land-title event) in a fresh SQLite
file under benchmarks/out/, then measures at each size. Baselines measured in the same run, for ratios:
hashing the same entries with SHA-256 alone (appends), and reading the leaves table without hashing
(verification). Targets from issue #5: >= 50,000 appends/s, proof generation <= 200 µs at 10M leaves,
full verification >= 300,000 leaves/s.

    python benchmarks/ledger.py            # 1M and 10M entries (a few minutes, ~2.5 GB of disk)
    python benchmarks/ledger.py --quick    # 100k and 1M
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from clearsight.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from clearsight.ledger.note import Signer
from clearsight.ledger.store import Ledger

OUT = Path(__file__).resolve().parent / "out"
BATCH = 100_000
console = Console(width=200)


def entry(number: int) -> bytes:
    return (
        f'{{"date":"2020-01-01T00:00:00+00:00","event":"transfer","price_gel":{number % 997 * 1000},'
        f'"sequence":{number},"title":"GE-TBL-{number:07d}"}}'
    ).encode()


def timed(function, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def measure_at(log, size: int, rng: random.Random) -> dict[str, float]:  # type: ignore[no-untyped-def]
    root = log.root(size)
    indices = [rng.randrange(size) for _ in range(300)]
    olds = [rng.randrange(1, size) for _ in range(300)]
    inclusion = [timed(lambda index=index: log.inclusion_proof(index, size), 1)[0] for index in indices]
    consistency = [timed(lambda old=old: log.consistency_proof(old, size), 1)[0] for old in olds]
    proofs = [(index, log.inclusion_proof(index, size)) for index in indices[:100]]
    verify_inclusion_times = [
        timed(lambda index=index, proof=proof: verify_inclusion(index, size, leaf_hash(entry(index)), proof, root), 1)[
            0
        ]
        for index, proof in proofs
    ]
    old_roots = {old: log.root(old) for old in olds[:100]}
    consistency_proofs = [(old, log.consistency_proof(old, size)) for old in olds[:100]]
    verify_consistency_times = [
        timed(lambda old=old, proof=proof: verify_consistency(old, size, old_roots[old], root, proof), 1)[0]
        for old, proof in consistency_proofs
    ]
    return {
        "inclusion_proof_p50_us": statistics.median(inclusion) * 1e6,
        "inclusion_proof_p95_us": sorted(inclusion)[int(len(inclusion) * 0.95)] * 1e6,
        "consistency_proof_p50_us": statistics.median(consistency) * 1e6,
        "consistency_proof_p95_us": sorted(consistency)[int(len(consistency) * 0.95)] * 1e6,
        "verify_inclusion_p50_us": statistics.median(verify_inclusion_times) * 1e6,
        "verify_consistency_p50_us": statistics.median(verify_consistency_times) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    sizes = [100_000, 1_000_000] if arguments.quick else [1_000_000, 10_000_000]
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "bench-ledger.sqlite"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.verifiers.json")):
        leftover.unlink(missing_ok=True)
    rng = random.Random(1)
    results = []
    with Ledger(path) as ledger:
        log = ledger.log("bench")
        signer = Signer.generate("clearsight/bench")
        appended = 0
        append_seconds = 0.0
        hash_seconds = 0.0
        for size in sizes:
            while appended < size:
                batch = [entry(number) for number in range(appended, min(size, appended + BATCH))]
                started = time.perf_counter()
                for item in batch:
                    hashlib.sha256(b"\x00" + item).digest()
                hash_seconds += time.perf_counter() - started
                started = time.perf_counter()
                log.append(batch)
                append_seconds += time.perf_counter() - started
                appended += len(batch)
            log.checkpoint(signer)
            row = {
                "leaves": size,
                "appends_per_second": appended / append_seconds,
                "append_to_hash_only_ratio": hash_seconds / append_seconds,
            }
            row.update(measure_at(log, size, rng))
            started = time.perf_counter()
            report = log.verify(signer.verifier)
            verify_seconds = time.perf_counter() - started
            assert report.ok, report.problems
            started = time.perf_counter()
            scanned = sum(
                1
                for _ in ledger.db.stream(
                    "SELECT idx, leaf_hash, entry FROM ledger_leaves WHERE log_id = ? ORDER BY idx", [log.log_id]
                )
            )
            scan_seconds = time.perf_counter() - started
            row["verify_leaves_per_second"] = scanned / verify_seconds
            row["verify_to_scan_only_ratio"] = scan_seconds / verify_seconds
            results.append(row)
            console.print(f"{size:,} leaves measured")
    table = Table(title="clearsight ledger (SQLite, one process)")
    for column in results[0]:
        table.add_column(column.replace("_", " "), justify="right")
    for row in results:
        table.add_row(*(f"{value:,.0f}" if value >= 100 else f"{value:.3g}" for value in row.values()))
    console.print(table)
    (OUT / "ledger.json").write_text(json.dumps(results, indent=2))
    console.print(f"written to {OUT / 'ledger.json'}; database: {path.stat().st_size / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
