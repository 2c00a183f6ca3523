"""The standard linkages between the registries of one dataset, stored in `registry_links`.

A dataset here is one jurisdiction's set of registry extracts (ingested with the same `--dataset`). Each linkage
compares the latest version of every record:

- payroll, beneficiaries and voters against the civil registry (who is this payee, beneficiary, voter?);
- payroll, beneficiaries and voters against themselves (the same person twice);
- the company register against the payroll (directors and owners who are officials).

The registry checks (indicators L001–L010) read these links; they answer insufficient_data for a dataset whose
linkage has not been run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute

from clearsight.engine import Backend
from clearsight.linkage.engines import DuckDBLinks, LinkEngine, SparkLinks
from clearsight.linkage.model import LinkOptions, link
from clearsight.linkage.prepare import LINK_FIELDS, prepare
from clearsight.model import REGISTRY_TABLES

# (left kind, right kind): the same kind twice deduplicates.
LINKAGES: tuple[tuple[str, str], ...] = (
    ("payroll", "civil"),
    ("payroll", "payroll"),
    ("beneficiaries", "civil"),
    ("beneficiaries", "beneficiaries"),
    ("voters", "civil"),
    ("voters", "voters"),
    ("companies", "payroll"),
)


@dataclass
class LinkageRun:
    run_id: str
    linkage: str
    left_records: int
    right_records: int
    pairs: int
    training: str
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def latest_records_sql(dataset: str, kind: str) -> str:
    """The latest version of every record of one registry, with the fields linkage reads."""
    quoted_dataset, quoted_kind = (value.replace("'", "''") for value in (dataset, kind))
    return (
        f"SELECT record_id, {', '.join(LINK_FIELDS)} FROM registry_records "
        f"WHERE dataset = '{quoted_dataset}' AND kind = '{quoted_kind}' "
        "QUALIFY version = max(version) OVER (PARTITION BY record_id)"
    )


def link_registries(
    backend: Backend,
    dataset: str,
    options: LinkOptions | None = None,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[LinkageRun]:
    """Run every standard linkage whose registries the dataset has; replaces earlier links of the same linkage."""
    options = options or LinkOptions(threshold=0.9, candidate_threshold=0.5, candidate_min_evidence=6.0)
    backend.ensure_tables(REGISTRY_TABLES)
    kinds = {row[0] for row in backend.query("SELECT DISTINCT kind FROM registry_records WHERE dataset = ?", [dataset])}
    runs = []
    # One scratch database for the whole call: each registry is read and prepared once, however many linkages
    # use it (the payroll is used by three).
    planned = [
        (left, right)
        for left, right in LINKAGES
        if left in kinds and right in kinds and (not only or f"{left}~{right}" in only)
    ]
    connection = duckdb.connect()
    engine = link_engine(backend, connection)
    prepared: set[str] = set()
    try:
        for number, (left, right) in enumerate(planned):
            if progress is not None:
                progress(f"{left}~{right}")
            runs.append(_link_pair(backend, connection, engine, prepared, dataset, left, right, options))
            for kind in {left, right} - {kind for pair in planned[number + 1 :] for kind in pair}:
                engine.drop(f"prepared_{kind}")  # no later linkage needs it
    finally:
        engine.close()
        connection.close()
    return runs


def link_engine(backend: Backend, connection: duckdb.DuckDBPyConnection) -> LinkEngine:
    """The linkage runs where the warehouse is: Splink's Spark backend on a Spark warehouse, DuckDB otherwise."""
    if backend.dialect.name == "spark":
        return SparkLinks(getattr(backend, "session", None), str(Path(backend.path) / "_linkage"))
    return DuckDBLinks(connection)


def _prepared(
    backend: Backend,
    connection: duckdb.DuckDBPyConnection,
    engine: LinkEngine,
    prepared: set[str],
    dataset: str,
    kind: str,
) -> str:
    """The table of one registry's prepared records, made the first time a linkage asks for it (`prepared`: the
    tables made so far).

    Names are normalised in this process (once per distinct spelling, far fewer than records) with DuckDB; the
    engine then takes the prepared table (Spark: as a cached view)."""
    table = f"prepared_{kind}"
    if table not in prepared:
        connection.register("_source", backend.query_arrow(latest_records_sql(dataset, kind)))
        prepare(connection, "_source", table, kind)
        connection.unregister("_source")
        engine.adopt(connection, table)
        prepared.add(table)
    return table


def _link_pair(
    backend: Backend,
    connection: duckdb.DuckDBPyConnection,
    engine: LinkEngine,
    prepared: set[str],
    dataset: str,
    left: str,
    right: str,
    options: LinkOptions,
) -> LinkageRun:
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    run_id = f"link-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    name = f"{left}~{right}"
    kinds = [left] if left == right else [left, right]
    tables = [_prepared(backend, connection, engine, prepared, dataset, kind) for kind in kinds]
    result = link(engine, tables, options)
    pairs = result.pairs
    # Splink puts the alphabetically lower source on the left; store every pair as linkage's left ~ right.
    swapped = pa.compute.not_equal(pairs.column("source_l"), pa.scalar(left))

    def side(first: str, second: str) -> pa.ChunkedArray:
        return pa.compute.if_else(swapped, pairs.column(second), pairs.column(first))

    stored = pa.table(
        {
            "run_id": pa.array([run_id] * pairs.num_rows, pa.string()),
            "dataset": pa.array([dataset] * pairs.num_rows, pa.string()),
            "linkage": pa.array([name] * pairs.num_rows, pa.string()),
            "left_kind": side("source_l", "source_r"),
            "left_id": side("id_l", "id_r"),
            "right_kind": side("source_r", "source_l"),
            "right_id": side("id_r", "id_l"),
            "match_probability": pairs.column("match_probability"),
            "match_weight": pairs.column("match_weight"),
            "cluster_id": pairs.column("cluster_id").cast(pa.string()),
            "explanation": pairs.column("explanation"),
        }
    )
    sizes = result.summary["records"]
    seconds = time.perf_counter() - started
    with backend.transaction():
        if backend.dialect.deletes:  # elsewhere the superseded run stays; the checks read the latest run
            backend.execute("DELETE FROM registry_links WHERE dataset = ? AND linkage = ?", [dataset, name])
            backend.execute("DELETE FROM registry_link_runs WHERE dataset = ? AND linkage = ?", [dataset, name])
        backend.append_arrow("registry_links", stored)
        backend.execute(
            "INSERT INTO registry_link_runs VALUES (?, ?, ?, ?, ?, 'plain', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                dataset,
                name,
                left,
                right,
                sizes[0],
                sizes[-1],
                pairs.num_rows,
                result.summary["candidate_threshold"],
                options.threshold,
                result.summary["training"],
                options.seed,
                orjson.dumps(
                    {
                        key: result.summary[key]
                        for key in (
                            "comparisons",
                            "blocking_rules",
                            "prior_match_probability",
                            "candidate_min_evidence",
                        )
                    }
                    | {"parameters": result.summary["parameters"]}
                ).decode(),
                started_at,
                seconds,
            ],
        )
    return LinkageRun(run_id, name, sizes[0], sizes[-1], pairs.num_rows, result.summary["training"], round(seconds, 3))
