"""Data quality: field coverage per dataset, issues found at ingest, rejects, and which red flags the data supports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clearsight.engine import Backend
from clearsight.model import ALL_TABLES, CONTRACTING_TABLES

# Fields whose coverage is measured: (table, column). Child-table fields count a process as covered when at
# least one of its rows has the field.
_SKIP_COLUMNS = {"dataset", "ocid", "source_file", "ingest_run_id", "has_bids", "scope", "parent_id", "position"}


@dataclass(frozen=True)
class FlagRequirement:
    code: str
    title: str
    fields: tuple[str, ...]  # "table.column"


# What each Cardinal-parity red flag reads (Open Contracting Partnership, "Red Flags in Public Procurement",
# 2024; Cardinal's indicator documentation). The red-flag issue turns these into the indicator registry.
FLAG_REQUIREMENTS: tuple[FlagRequirement, ...] = (
    FlagRequirement(
        "R003",
        "Short submission period",
        ("processes.tender_period_start", "processes.tender_period_end", "processes.procurement_method"),
    ),
    FlagRequirement("R018", "Single bid received", ("bids.bid_id", "bid_tenderers.tenderer_id")),
    FlagRequirement("R024", "Price close to winning bid", ("bids.value_amount", "award_suppliers.supplier_id")),
    FlagRequirement(
        "R025",
        "Excessive unsuccessful bids",
        ("bids.status", "bid_tenderers.tenderer_id", "award_suppliers.supplier_id"),
    ),
    FlagRequirement("R028", "Identical bid prices", ("bids.value_amount", "bid_tenderers.tenderer_id")),
    FlagRequirement(
        "R030", "Late bid won", ("bids.date", "processes.tender_period_end", "award_suppliers.supplier_id")
    ),
    FlagRequirement("R035", "All except winning bid disqualified", ("bids.status", "award_suppliers.supplier_id")),
    FlagRequirement("R036", "Lowest bid disqualified", ("bids.status", "bids.value_amount")),
    FlagRequirement("R038", "Excessive disqualified bids", ("bids.status", "processes.buyer_id")),
    FlagRequirement("R048", "Heterogeneous supplier", ("items.classification_id", "award_suppliers.supplier_id")),
    FlagRequirement("R058", "Heavily discounted bid", ("bids.value_amount", "bids.status")),
)


def _coverage_sql(dataset_filter: str) -> str:
    parts = []
    for table in CONTRACTING_TABLES:
        columns = [column.name for column in table.columns if column.name not in _SKIP_COLUMNS]
        if table.name == "processes":
            for column in columns:
                parts.append(
                    f"SELECT dataset, 'processes' AS table_name, '{column}' AS column_name, "
                    f"count({column}) AS covered FROM processes {dataset_filter} GROUP BY dataset"
                )
        else:
            selects = ", ".join(
                f"count(DISTINCT CASE WHEN {column} IS NOT NULL THEN ocid END) AS {column}" for column in columns
            )
            # One scan per table, its counts turned into rows by a join with the column names (portable SQL: an
            # unpivot without UNPIVOT, which not every engine has).
            names = ", ".join(f"('{column}')" for column in columns)
            pick = " ".join(f"WHEN '{column}' THEN a.{column}" for column in columns)
            parts.append(
                f"SELECT a.dataset, '{table.name}' AS table_name, c.column_name, CASE c.column_name {pick} END "
                f"AS covered FROM (SELECT dataset, {selects} FROM {table.name} {dataset_filter} GROUP BY dataset) "
                f"AS a CROSS JOIN (VALUES {names}) AS c(column_name)"
            )
    return " UNION ALL ".join(parts)


def quality_report(backend: Backend, dataset: str | None = None, support_threshold: float = 0.5) -> dict[str, Any]:
    """Coverage, issues, rejects and red-flag support, per dataset."""
    backend.ensure_tables(ALL_TABLES)
    params = [dataset] if dataset else []
    where = "WHERE dataset = ?" if dataset else ""
    totals = dict(backend.query(f"SELECT dataset, count(*) FROM processes {where} GROUP BY dataset", params))
    report: dict[str, Any] = {"datasets": {}}
    for name, processes in sorted(totals.items()):
        report["datasets"][name] = {"processes": processes, "coverage": {}, "issues": [], "rejects": [], "flags": []}
    if totals:
        union = _coverage_sql(where)
        rows = backend.query(f"SELECT * FROM ({union}) ORDER BY 1, 2, 3", params * union.count("?"))
        for name, table, column, covered in rows:
            total = totals.get(name) or 0
            report["datasets"][name]["coverage"][f"{table}.{column}"] = round(covered / total, 4) if total else 0.0
    for name, path, issue, count in backend.query(
        f"SELECT dataset, path, issue, count(*) FROM quality_issues {where} GROUP BY ALL ORDER BY 1, 4 DESC", params
    ):
        report["datasets"].setdefault(name, {"processes": 0, "coverage": {}, "issues": [], "rejects": [], "flags": []})
        report["datasets"][name]["issues"].append({"issue": issue, "path": path, "count": count})
    for name, reason, count in backend.query(
        f"SELECT dataset, reason, count(*) FROM ingest_rejects {where} GROUP BY ALL ORDER BY 1, 3 DESC", params
    ):
        report["datasets"].setdefault(name, {"processes": 0, "coverage": {}, "issues": [], "rejects": [], "flags": []})
        report["datasets"][name]["rejects"].append({"reason": reason, "count": count})
    for data in report["datasets"].values():
        coverage = data["coverage"]
        for requirement in FLAG_REQUIREMENTS:
            shares = {field: coverage.get(field, 0.0) for field in requirement.fields}
            lowest = min(shares.values())
            status = "supported" if lowest >= support_threshold else ("partial" if lowest > 0 else "unsupported")
            data["flags"].append(
                {
                    "code": requirement.code,
                    "title": requirement.title,
                    "status": status,
                    "coverage": lowest,
                    "fields": shares,
                }
            )
    return report


# Every rejected input, of OCDS ingest and of registry ingest, in one shape: where it was, which field, why.
_REJECTS_SQL = """
SELECT 'ocds' AS source, r.run_id, r.dataset, r.file, r.line, r.path AS field, r.ocid, r.value, r.reason,
       runs.started_at
FROM ingest_rejects r LEFT JOIN ingest_runs runs USING (run_id)
UNION ALL
SELECT 'registry ' || kind, run_id, dataset, source_file, source_line, column_name, NULL, value, reason,
       CAST(NULL AS TIMESTAMPTZ)
FROM registry_rejects"""


def rejects_sql(
    dataset: str | None = None,
    run: str | None = None,
    file: str | None = None,
    reason: str | None = None,
    source: str | None = None,
) -> tuple[str, list[Any]]:
    """The rejects query with its filters: run exactly (or `latest`: each dataset's latest run that rejected
    something); file and reason as case-insensitive parts; source `ocds` or `registry`."""
    filters = [
        (dataset, "dataset = ?"),
        (None if run == "latest" else run, "run_id = ?"),
        (file, "contains(lower(file), lower(?))"),
        (reason, "contains(lower(reason), lower(?))"),
        (source, "starts_with(source, ?)"),
    ]
    clauses = [clause for value, clause in filters if value] + (["latest = 1"] if run == "latest" else [])
    params: list[Any] = [value for value, _clause in filters if value]
    where = " AND ".join(clauses) or "TRUE"
    # Run ids are "<kind>-<UTC time to the second>-<random>"; OCDS runs also have their exact start.
    sql = (
        f"WITH rejected AS ({_REJECTS_SQL}), ranked AS (SELECT *, dense_rank() OVER (PARTITION BY dataset "
        "ORDER BY split_part(run_id, '-', 2) DESC, started_at DESC NULLS LAST) AS latest FROM rejected) "
        "SELECT source, run_id, dataset, file, line, field, ocid, value, reason FROM ranked "
        f"WHERE {where} ORDER BY split_part(run_id, '-', 2), started_at NULLS FIRST, run_id, file, line"
    )
    return sql, params
