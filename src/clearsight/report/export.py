"""Export a flag run's results (and risk scores) to CSV, Parquet or JSON with the engine's writers."""

from __future__ import annotations

from pathlib import Path

from clearsight.engine import Backend

FORMATS = {"csv": "(FORMAT CSV, HEADER TRUE)", "parquet": "(FORMAT PARQUET)", "json": "(FORMAT JSON, ARRAY TRUE)"}


def export_results(backend: Backend, run_id: str, out: Path, table: str = "flag_results") -> int:
    """Write one run's rows of flag_results or risk_scores; the format follows the file's suffix."""
    suffix = out.suffix.lstrip(".").lower()
    if suffix not in FORMATS:
        raise ValueError(f"{out}: unknown format {suffix!r}; use .csv, .parquet or .json")
    if table not in ("flag_results", "risk_scores"):
        raise ValueError(f"cannot export {table!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    path = str(out).replace("'", "''")
    backend.execute(
        f"COPY (SELECT * FROM {table} WHERE run_id = ? ORDER BY ALL) TO '{path}' {FORMATS[suffix]}", [run_id]
    )
    return int(backend.query_value(f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]) or 0)
