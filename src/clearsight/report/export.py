"""Export a flag run's results (and risk scores) to CSV, Parquet or JSON with the engine's writers."""

from __future__ import annotations

from pathlib import Path

from clearsight.engine import Backend
from clearsight.engine.base import sql_literal
from clearsight.model import ALL_TABLES

FORMATS = ("csv", "parquet", "json")
TABLES = {table.name: table for table in ALL_TABLES}


def export_results(backend: Backend, run_id: str, out: Path, table: str = "flag_results") -> int:
    """Write one run's rows of flag_results or risk_scores, in a stable order; the format follows the file's
    suffix. Returns the number of rows."""
    suffix = out.suffix.lstrip(".").lower()
    if suffix not in FORMATS:
        raise ValueError(f"{out}: unknown format {suffix!r}; use .csv, .parquet or .json")
    if table not in ("flag_results", "risk_scores"):
        raise ValueError(f"cannot export {table!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    json_columns = [column.name for column in TABLES[table].columns if column.type == "JSON"]
    query = f"SELECT * FROM {table} WHERE run_id = {sql_literal(run_id)} ORDER BY ALL"
    return backend.export_file(query, out, suffix, json_columns)
