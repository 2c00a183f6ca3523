"""The canonical schema of the warehouse: tables, columns, their meaning and their OCDS paths."""

from clearsight.model.schema import (
    ALL_TABLES,
    BOOKKEEPING_TABLES,
    CONTRACTING_TABLES,
    FLAG_RESULTS,
    FLAG_RUNS,
    FLAG_TABLES,
    INGEST_FILES,
    INGEST_REJECTS,
    INGEST_RUNS,
    QUALITY_ISSUES,
    RISK_SCORES,
    SOURCE_RELEASES,
    TABLES_BY_NAME,
    Column,
    Table,
    create_table_sql,
)

__all__ = [
    "ALL_TABLES",
    "BOOKKEEPING_TABLES",
    "CONTRACTING_TABLES",
    "FLAG_RESULTS",
    "FLAG_RUNS",
    "FLAG_TABLES",
    "INGEST_FILES",
    "INGEST_REJECTS",
    "INGEST_RUNS",
    "QUALITY_ISSUES",
    "RISK_SCORES",
    "SOURCE_RELEASES",
    "TABLES_BY_NAME",
    "Column",
    "Table",
    "create_table_sql",
]
