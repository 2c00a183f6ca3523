"""Web benchmark: latency of the inbox, search and profile pages under concurrent users, on a large warehouse.

A warehouse of PROCESSES synthetic processes (default 1,000,000) and FLAG_ROWS flag results (default 5,000,000, one
in five flagged) is generated directly in SQL — the web app only reads the canonical tables, so their content need
not come through ingest — and `clearsight serve` is started on it as a separate process. A load generator (httpx,
loopback only, bounded duration per scenario) keeps USERS concurrent logged-in users busy, each request waiting
for the previous one (closed loop), and reports p50/p95/p99 latency and throughput per page. The baseline, measured
in the same run under the same load, is the server's cheapest response (the stylesheet): the ratio says how much
each page costs above the bare HTTP + framework overhead.

    python benchmarks/web.py                         # 1M processes, 5M flag rows, 20 users, 20 s per page
    python benchmarks/web.py --processes 100000 --flag-rows 500000 --seconds 5   # quick look
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
from rich.console import Console
from rich.table import Table

console = Console(width=160)
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "web"
CLEARSIGHT = str(Path(sys.executable).with_name("clearsight"))
PASSWORD = "benchmark-password"


def build_warehouse(path: Path, processes: int, flag_rows: int) -> None:
    """Canonical tables filled in SQL: processes, parties, awards, flag results (1 in 5 flagged), risk scores."""
    from clearsight.engine import DuckDBBackend
    from clearsight.model import ALL_TABLES

    path.unlink(missing_ok=True)
    with DuckDBBackend(path, memory_limit="4GB") as backend:
        backend.ensure_tables(ALL_TABLES)
    buyers, suppliers = max(10, processes // 500), max(50, processes // 20)
    words = ["road", "hospital", "school", "software", "fuel", "medicines", "bridge", "uniforms", "cleaning", "meals"]
    words_sql = "[" + ", ".join(f"'{w}'" for w in words) + "]"
    indicators = ["R003", "R018", "R024", "R028", "R030", "R035", "R036", "R038", "R058", "C001", "C006", "C008"]
    indicators_sql = "[" + ", ".join(f"'{i}'" for i in indicators) + "]"
    with duckdb.connect(str(path)) as db:
        db.execute("SET preserve_insertion_order = false")
        db.execute(f"""
            INSERT INTO processes (dataset, ocid, title, status, buyer_id, buyer_name, procurement_method,
                                   tender_value_amount, tender_value_currency, tender_period_start, number_of_tenderers,
                                   release_date)
            SELECT 'bench', printf('ocds-bench-%08d', i),
                   'Supply of ' || {words_sql}[1 + i % 10] || ' for buyer ' || (i % {buyers}),
                   'complete', printf('GOV-%05d', i % {buyers}), 'Public body ' || (i % {buyers}),
                   CASE WHEN i % 7 = 0 THEN 'direct' ELSE 'open' END,
                   round(1000 + (hash(i) % 5000000), 2), 'EUR',
                   TIMESTAMPTZ '2020-01-01' + to_days(CAST(i % 1800 AS INTEGER)),
                   1 + i % 6, TIMESTAMPTZ '2025-01-01'
            FROM range({processes}) t(i)""")
        db.execute(f"""
            INSERT INTO parties (dataset, ocid, party_id, name, roles)
            SELECT 'bench', printf('ocds-bench-%08d', i), printf('GOV-%05d', i % {buyers}),
                   'Public body ' || (i % {buyers}), ['buyer']
            FROM range({processes}) t(i)
            UNION ALL
            SELECT 'bench', printf('ocds-bench-%08d', i), printf('SUP-%06d', hash(i) % {suppliers}),
                   'Supplier ' || (hash(i) % {suppliers}), ['supplier', 'tenderer']
            FROM range({processes}) t(i)""")
        db.execute(f"""
            INSERT INTO awards (dataset, ocid, award_id, award_position, status, date, value_amount, value_currency)
            SELECT 'bench', printf('ocds-bench-%08d', i), 'a1', 0, 'active',
                   TIMESTAMPTZ '2020-02-01' + to_days(CAST(i % 1800 AS INTEGER)),
                   round(900 + (hash(i) % 4500000), 2), 'EUR'
            FROM range({processes}) t(i)""")
        db.execute(f"""
            INSERT INTO award_suppliers (dataset, ocid, award_id, award_position, supplier_id, supplier_name, position)
            SELECT 'bench', printf('ocds-bench-%08d', i), 'a1', 0, printf('SUP-%06d', hash(i) % {suppliers}),
                   'Supplier ' || (hash(i) % {suppliers}), 0
            FROM range({processes}) t(i)""")
        db.execute("""
            INSERT INTO flag_runs (run_id, dataset, started_at, finished_at, code_version, profile)
            VALUES ('flags-bench', 'bench', now(), now(), 'bench', 'default')""")
        db.execute(f"""
            INSERT INTO flag_results (run_id, dataset, indicator, subject_type, subject_id, ocid, status, value,
                                      threshold, evidence)
            SELECT 'flags-bench', 'bench', {indicators_sql}[1 + (i // {processes}) % 12], 'process',
                   printf('ocds-bench-%08d', i % {processes}), printf('ocds-bench-%08d', i % {processes}),
                   CASE WHEN hash(i) % 5 = 0 THEN 'flagged' ELSE 'clear' END, 1.0, 1.0, '{{}}'
            FROM range({flag_rows}) t(i)""")
        db.execute(f"""
            INSERT INTO risk_scores (run_id, dataset, subject_type, subject_id, status, cri, weighted_score,
                                     components, flagged, rank)
            SELECT 'flags-bench', 'bench', 'process', printf('ocds-bench-%08d', i), 'scored',
                   (hash(i) % 100) / 100.0, (hash(i) % 100) / 100.0, 5, 1, 1
            FROM range({processes}) t(i)""")
        db.execute("CHECKPOINT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def log_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = await client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    assert done.status_code == 200 and "Log out" in done.text, (done.status_code, done.headers, done.text[:500])


async def load(base: str, paths: list[str], users: int, seconds: float) -> tuple[list[float], int]:
    """Closed-loop load: `users` clients each requesting the next path as soon as the last one answered."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def user(number: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=True) as client:
            await log_in(client)
            index = number
            while time.monotonic() < stop:
                path = paths[index % len(paths)]
                index += users
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

    await asyncio.gather(*(user(number) for number in range(users)))
    return latencies, errors


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=1_000_000)
    parser.add_argument("--flag-rows", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--reuse", action="store_true", help="Reuse the warehouse of an earlier run of this size.")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    warehouse = OUT / f"web-{args.processes}-{args.flag_rows}.duckdb"
    if not (args.reuse and warehouse.exists()):
        started = time.perf_counter()
        with console.status(f"generating {args.processes:,} processes and {args.flag_rows:,} flag rows"):
            build_warehouse(warehouse, args.processes, args.flag_rows)
        console.print(f"warehouse generated in {time.perf_counter() - started:.1f} s")
    app_db = OUT / "app.sqlite"
    for stale in OUT.glob("app.sqlite*"):
        stale.unlink()
    environment = {**os.environ, "CLEARSIGHT_APP_DB": str(app_db)}
    common = [CLEARSIGHT, "--db", str(warehouse), "--ledger", str(OUT / "ledger.sqlite")]
    subprocess.run(
        [*common, "users", "add", "bench", "--role", "analyst", "--password-stdin"],
        input=PASSWORD + "\n", text=True, check=True, env=environment, capture_output=True,
    )  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server_log = (OUT / "serve.log").open("w")
    server = subprocess.Popen(
        # httpx, unlike a browser, keeps Secure cookies only over HTTPS: plain cookies on loopback.
        [*common, "serve", "--port", str(port), "--host", "127.0.0.1", "--insecure-cookies"],
        env=environment, stdout=server_log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        while True:
            try:
                httpx.get(f"{base}/static/style.css", timeout=1)
                break
            except httpx.HTTPError:
                if server.poll() is not None:
                    raise SystemExit(f"the server stopped: see {OUT / 'serve.log'}") from None
                time.sleep(0.2)
        console.print(f"server ready in {time.perf_counter() - started:.1f} s (alert index built at start)")
        buyers = max(10, args.processes // 500)
        words = ["road", "hospital", "school", "software", "fuel", "medicines", "bridge", "uniforms", "cleaning"]
        scenarios = {
            "baseline: stylesheet": ["/static/style.css"],
            "inbox (default view)": ["/inbox"],
            "inbox filtered + sorted": [
                f"/inbox?indicator=R0{code}&sort=amount&order=desc&risk_min=0.{n}"
                for code, n in (("03", 2), ("18", 5), ("28", 1), ("58", 7))
            ],
            "inbox page 50 (keyset)": ["/inbox?sort=date"],
            # Every request a filter never seen before: no cached facets, counts or pages.
            "inbox, new filter each time": [
                f"/inbox?amount_min={1000 + 7 * n}&sort={('amount', 'date', 'risk')[n % 3]}" for n in range(100_000)
            ],
            "search": [f"/search?q={word}" for word in ("hospital", "road", "supply buyer 12", "fuel", "bridge")],
            "search, new words each time": [f"/search?q={words[n % 9]}+{n % 2000}" for n in range(100_000)],
            "buyer profile": [f"/organisations/bench/GOV-{n:05d}" for n in range(0, buyers, max(1, buyers // 50))],
            "process page": [f"/processes/bench/ocds-bench-{n:08d}" for n in range(0, args.processes, 9973)],
        }
        # A deep page: follow the keyset cursor 49 times once, then load that page under load.
        asyncio.run(_prime_cursor(base, scenarios))
        table = Table(
            "page", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "p95 / baseline", "errors",
            title=f"clearsight serve: {args.processes:,} processes, {args.flag_rows:,} flag rows, "
            f"{args.users} concurrent users, {args.seconds:.0f} s per page",
        )  # fmt: skip
        baseline_p95 = None
        for name, paths in scenarios.items():
            latencies, errors = asyncio.run(load(base, paths, args.users, args.seconds))
            p95 = percentile(latencies, 0.95)
            baseline_p95 = baseline_p95 or p95
            table.add_row(
                name, f"{len(latencies):,}", f"{len(latencies) / args.seconds:,.1f}",
                f"{1000 * statistics.median(latencies):.0f}", f"{1000 * p95:.0f}",
                f"{1000 * percentile(latencies, 0.99):.0f}", f"{p95 / baseline_p95:.1f}×", str(errors),
            )  # fmt: skip
            console.print(f"  {name}: p95 {1000 * p95:.0f} ms")
        console.print(table)
        rss = _rss_mb(server.pid)
        console.print(f"server resident memory at the end: {rss:,.0f} MB (memory limit of the engine: 1 GB)")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _prime_cursor(base: str, scenarios: dict[str, list[str]]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=True) as client:
        await log_in(client)
        path = "/inbox?sort=date"
        for _ in range(49):
            page = await client.get(path)
            following = re.search(r'rel="next" href="([^"]+)"', page.text)
            if not following:
                break
            path = html.unescape(following.group(1))
        scenarios["inbox page 50 (keyset)"] = [path]


if __name__ == "__main__":
    main()
