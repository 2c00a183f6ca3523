"""`clearsight link dedupe/pair/encode` on files a user brings (CSV or Parquet), through a mapping file.

Files are read exactly as registry extracts are (registry/ingest.py): the mapping names the columns, bad rows are
rejected with file, line, column and reason and counted — never dropped silently — and the good rows are linked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from clearsight.engine import DuckDBBackend
from clearsight.linkage.encode import (
    EncodingError,
    encode_prepared,
    encoded_scheme,
    encoding_metadata,
    load_encoded,
)
from clearsight.linkage.model import PLAIN, LinkOptions, LinkResult, link
from clearsight.linkage.prepare import LINK_FIELDS, prepare
from clearsight.registry.ingest import ingest_registry
from clearsight.registry.mapping import Mapping


@dataclass
class InputReport:
    file: str
    rows: int
    loaded: int
    rejected: int
    reasons: dict[str, int]
    first_rejects: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_people(path: Path, mapping: Mapping) -> tuple[pa.Table, InputReport]:
    """The file's good rows as canonical fields (record_id and LINK_FIELDS), and what was rejected."""
    with DuckDBBackend(":memory:") as backend:
        summary = ingest_registry(backend, path, mapping, "input")
        rejects = backend.query_dicts(
            "SELECT source_line AS line, column_name AS column, value, reason FROM registry_rejects "
            "ORDER BY source_line LIMIT 20"
        )
        table = backend.query_arrow(f"SELECT record_id, {', '.join(LINK_FIELDS)} FROM registry_records")
    report = InputReport(str(path), summary.rows, table.num_rows, summary.rejected_rows, dict(summary.reasons), rejects)
    return table, report


def write_table(table: pa.Table, out: Path) -> None:
    """Parquet when the name ends in .parquet, CSV otherwise."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        pq.write_table(table, out)
    else:
        pacsv.write_csv(table, out)


def _is_encoded(path: Path) -> bool:
    if path.suffix.lower() != ".parquet":
        return False
    metadata = pq.read_schema(path).metadata or {}
    return b"clearsight.encoding" in metadata


def _output(result: LinkResult, dedupe: bool) -> pa.Table:
    pairs = result.pairs
    names = ("id_l", "id_r") if dedupe else ("left_id", "right_id")
    return pa.table(
        {
            names[0]: pairs.column("id_l"),
            names[1]: pairs.column("id_r"),
            "match_probability": pairs.column("match_probability"),
            "match_weight": pairs.column("match_weight"),
            "cluster_id": pairs.column("cluster_id").cast(pa.string()),
            "explanation": pairs.column("explanation"),
        }
    )


def dedupe_file(path: Path, mapping: Mapping, options: LinkOptions) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """Pairs of records of one file that are the same person, and every record's cluster."""
    people, report = read_people(path, mapping)
    connection = duckdb.connect()
    try:
        connection.register("_people", people)
        prepare(connection, "_people", "prepared_input", "input")
        result = link(connection, ["prepared_input"], options)
    finally:
        connection.close()
    summary = {"input": report.to_dict(), **_summary(result)}
    clusters = result.clusters.select(["record_id", "cluster_id"])
    return _output(result, dedupe=True), clusters, summary


def pair_files(
    left: Path,
    right: Path,
    left_mapping: Mapping | None,
    right_mapping: Mapping | None,
    options: LinkOptions,
) -> tuple[pa.Table, dict[str, Any]]:
    """Pairs across two files: both plain (with mappings) or both encoded (clearsight link encode)."""
    encoded = [_is_encoded(left), _is_encoded(right)]
    connection = duckdb.connect()
    try:
        if all(encoded):
            tables, metadata = [], []
            for name, path in (("left", left), ("right", right)):
                table = pq.read_table(path)
                metadata.append(encoding_metadata(table, path))
                load_encoded(connection, table, f"encoded_{name}", name)
                tables.append(f"encoded_{name}")
            if metadata[0]["clearsight.key_fingerprint"] != metadata[1]["clearsight.key_fingerprint"]:
                raise EncodingError(f"{left} and {right} were encoded with different keys: they cannot be linked")
            if metadata[0]["clearsight.hardening"] != metadata[1]["clearsight.hardening"]:
                raise EncodingError(f"{left} and {right} use different hardenings")
            result = link(connection, tables, options, encoded_scheme(metadata[0]["clearsight.hardening"]))
            inputs: dict[str, Any] = {"left": str(left), "right": str(right), "mode": "encoded"}
        elif any(encoded):
            raise EncodingError("link an encoded file only with another encoded file (clearsight link encode)")
        else:
            if left_mapping is None or right_mapping is None:
                raise EncodingError("plain files need a mapping (--mapping, and --right-mapping when they differ)")
            reports = []
            for name, path, mapping in (("left", left, left_mapping), ("right", right, right_mapping)):
                people, report = read_people(path, mapping)
                reports.append(report.to_dict())
                connection.register("_people", people)
                prepare(connection, "_people", f"prepared_{name}", name)
                connection.unregister("_people")
            result = link(connection, ["prepared_left", "prepared_right"], options, PLAIN)
            inputs = {"left": reports[0], "right": reports[1], "mode": "plain"}
    finally:
        connection.close()
    # Splink puts the alphabetically lower source on the left: "left" before "right", as the output wants.
    return _output(result, dedupe=False), {"inputs": inputs, **_summary(result)}


def encode_file(path: Path, mapping: Mapping, key: bytes, hardening: str) -> tuple[pa.Table, dict[str, Any]]:
    people, report = read_people(path, mapping)
    connection = duckdb.connect()
    try:
        connection.register("_people", people)
        prepare(connection, "_people", "prepared_input", "input")
        encoded = encode_prepared(connection, "prepared_input", key, hardening)
    finally:
        connection.close()
    metadata = {key.decode(): value.decode() for key, value in (encoded.schema.metadata or {}).items()}
    return encoded, {"input": report.to_dict(), "records": encoded.num_rows, "encoding": metadata}


def _summary(result: LinkResult) -> dict[str, Any]:
    keep = (
        "records",
        "pairs",
        "clusters_with_several_records",
        "training",
        "threshold",
        "prior_match_probability",
        "comparisons",
        "blocking_rules",
        "second_pass_records",
        "seed",
        "seconds",
    )
    return {key: result.summary[key] for key in keep if key in result.summary}
