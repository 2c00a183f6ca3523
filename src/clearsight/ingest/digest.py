"""Turn a chunk of input outcomes into what the pipeline stores: staged releases, early rows, rejects.

This is the CPU-bound part of ingest (parsing, hashing, flattening). It runs in the main process for small
inputs and in worker processes for large JSON Lines inputs; it never touches the engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from clearsight.ingest.flatten import RowBuffer, arrow_schema, flatten_release
from clearsight.ingest.normalise import IssueLog
from clearsight.ingest.reader import Blank, Outcome, Reject, Unit, lines_outcomes
from clearsight.model import SOURCE_RELEASES


@dataclass
class Digest:
    """The result of one chunk: rows ready for the engine, and counts."""

    staged: list[tuple[Any, ...]] = field(default_factory=list)  # source_releases rows (while digesting)
    staged_table: pa.Table | None = None  # the same rows as Arrow (cheap to send between processes)
    early_rows: dict[str, pa.Table] = field(default_factory=dict)  # canonical rows of compiled releases
    early_issues: list[tuple[Any, ...]] = field(default_factory=list)  # quality_issues rows for those
    early_failed: set[str] = field(default_factory=set)  # compiled releases that could not be flattened
    rejects: list[tuple[int, str, str, str, str | None]] = field(
        default_factory=list
    )  # line, path, reason, value, ocid
    objects: int = 0
    blank: int = 0


def digest_outcomes(outcomes: Iterable[Outcome], label: str, dataset: str, run_id: str) -> Digest:
    digest = Digest()
    rows = RowBuffer()
    for outcome in outcomes:
        digest.objects += 1
        if isinstance(outcome, Unit):
            _stage(digest, rows, outcome, label, dataset, run_id)
        elif isinstance(outcome, Reject):
            digest.rejects.append((outcome.line, outcome.path, outcome.reason, outcome.value, outcome.ocid))
        elif isinstance(outcome, Blank):
            digest.blank += 1
    if len(rows):
        digest.early_rows = rows.to_arrow()
    digest.staged_table = rows_to_table(STAGING_SCHEMA, digest.staged)
    digest.staged = []
    return digest


STAGING_SCHEMA = arrow_schema(SOURCE_RELEASES)


def rows_to_table(schema: pa.Schema, rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows (tuples in column order) as an Arrow table of the given schema."""
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pa.Table.from_arrays(
        [pa.array(column, type=column_field.type) for column, column_field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def digest_lines(
    lines: list[bytes], first_line: int, label: str, dataset: str, run_id: str, compiled: bool = False
) -> Digest:
    """Digest a block of JSON Lines (worker entry point)."""
    return digest_outcomes(lines_outcomes(lines, first_line, compiled), label, dataset, run_id)


def _stage(digest: Digest, rows: RowBuffer, unit: Unit, label: str, dataset: str, run_id: str) -> None:
    sha = hashlib.sha256(unit.data).hexdigest()
    digest.staged.append(
        (
            dataset,
            unit.ocid,
            unit.kind,
            unit.release_id,
            unit.date,
            sha,
            unit.data.decode("utf-8"),
            label,
            unit.line,
            run_id,
        )
    )
    if unit.parsed is None:
        return
    # A compiled release needs no merging: flatten it now. Its rows are kept only if its process turns out to
    # be new and received nothing else (decided by the pipeline, which knows the warehouse).
    release = unit.parsed
    release["id"] = f"{unit.ocid}-{release.get('date')}"  # the id a merge would give it
    log = IssueLog()
    mark = rows.mark()
    try:
        flatten_release(release, dataset, label, run_id, rows, log)
    except (KeyError, TypeError, ValueError):
        rows.rollback(mark)
        digest.early_failed.add(unit.ocid)  # recompiled later, and rejected there with the reason
        return
    for path, issue, value, normalised in log.issues:
        digest.early_issues.append((run_id, dataset, unit.ocid, path, issue, value, normalised))
