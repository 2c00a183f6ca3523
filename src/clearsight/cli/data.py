"""`clearsight rejects` and `clearsight query`: see what is in the warehouse without an SQL client."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clearsight.cli.common import JsonOption, console, fail, state
from clearsight.engine import EngineError

if TYPE_CHECKING:
    from clearsight.engine import Backend

CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV (every row, with a header) instead of a table.")]
LimitOption = Annotated[int, typer.Option(min=1, help="Rows shown in the table (--json and --csv give every row).")]


def readable(value: Any) -> str:
    """A value as a person reads it in a table: dates without microseconds, numbers with separators."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        text = f"{value.day} {value:%b %Y %H:%M}"
        return text + (" UTC" if value.utcoffset() == dt.timedelta(0) else "")
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        number = float(value)
        if number.is_integer():
            return f"{number:,.0f}"
        return f"{number:,.4g}" if abs(number) < 1000 else f"{number:,.2f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(backend: Backend, sql: str, params: list[Any]) -> tuple[list[str], Iterator[list[Any]]]:
    """The result's column names and its rows, streamed in batches (bounded memory at any size)."""
    batches = backend.iter_batches(sql, params)
    first = next(batches, None)
    names = list(first.schema.names) if first is not None else []

    def rows() -> Iterator[list[Any]]:
        for batch in [first, *batches] if first is not None else []:
            columns = [column.to_pylist() for column in batch.columns]
            yield from (list(row) for row in zip(*columns, strict=True))

    return names, rows()


def emit(backend: Backend, sql: str, params: list[Any], *, as_json: bool, as_csv: bool, limit: int, title: str) -> int:
    """Print a query's rows as a table (the first `limit`, fitted to the terminal), JSON or CSV; the row count."""
    names, rows = _rows(backend, sql, params)
    count = 0
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if value is None else _json_value(value) for value in row])
            count += 1
        return count
    if as_json:
        sys.stdout.write("[")
        for row in rows:
            record = {name: _json_value(value) for name, value in zip(names, row, strict=True)}
            sys.stdout.write(("\n  " if count == 0 else ",\n  ") + json.dumps(record, ensure_ascii=False, default=str))
            count += 1
        sys.stdout.write("\n]\n" if count else "]\n")
        return count
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows:
        if count < limit:
            table.add_row(*(readable(value) for value in row))
        count += 1
    console.print(table)
    shown = min(count, limit)
    more = f"; {count - shown:,} more not shown (--limit, --csv or --json show them)" if count > shown else ""
    console.print(f"{count:,} rows{more}")
    return count


def rejects_command(
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Only this dataset.")] = None,
    run: Annotated[
        str | None, typer.Option(help="Only this run id, or `latest` for each dataset's latest run with rejects.")
    ] = None,
    file: Annotated[str | None, typer.Option(help="Only files whose path contains this (any case).")] = None,
    reason: Annotated[str | None, typer.Option(help="Only reasons that contain this (any case).")] = None,
    source: Annotated[str | None, typer.Option(help="Only `ocds` or `registry` rejects.")] = None,
    limit: LimitOption = 50,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Input that was not loaded — OCDS and registry ingest alike: file, line, field, value and reason."""
    from clearsight.ingest.quality import rejects_sql

    if source not in (None, "ocds", "registry"):
        fail(f"--source {source!r}: write ocds or registry", 2)
    sql, params = rejects_sql(dataset, run, file, reason, source)
    with state.backend(spark=True, read_only=True) as backend:
        try:
            if json_output or csv_output:
                # Rejected values are untrusted input: in CSV, text a spreadsheet would run as a formula is made
                # plain text (a leading apostrophe).
                safe = backend.spreadsheet_safe(sql, params) if csv_output else sql
                emit(backend, safe, params, as_json=json_output, as_csv=csv_output, limit=limit, title="")
                return
            reasons = backend.query(
                f"SELECT reason, count(*) AS n FROM ({sql}) GROUP BY reason ORDER BY n DESC, reason", params
            )
            if not reasons:
                console.print("No rejected input" + (" matches these filters." if params or run else "."))
                return
            _print_rejects(backend.query_dicts(f"{sql} LIMIT {limit + 1}", params), limit)
            total = sum(count for _reason, count in reasons)
        except EngineError as error:
            fail(error.engine_message)
    shown = min(limit, total)
    console.print(
        f"{total:,} rejected" + (f" ({shown:,} shown; --limit, --csv or --json for all)" if total > shown else "")
    )
    for reason, count in reasons[:10]:
        console.print(f"  {count:>8,}  {reason}", highlight=False)


def _print_rejects(rows: list[dict[str, Any]], limit: int) -> None:
    """Rejects as a table that fits a terminal: where (file:line), field, value and reason; the run only when
    rows come from several runs, ocids only when some are known."""
    from rich.table import Table

    runs = {row["run_id"] for row in rows}
    table = Table(
        title="rejected input" + (f" — run {next(iter(runs))} ({rows[0]['source']})" if len(runs) == 1 else "")
    )
    if len(runs) > 1:
        table.add_column("run", overflow="fold")
    table.add_column("where", overflow="fold", ratio=2)
    table.add_column("field", overflow="fold", ratio=1)
    with_ocid = any(row["ocid"] for row in rows)
    if with_ocid:
        table.add_column("ocid", overflow="fold", ratio=1)
    table.add_column("value", overflow="ellipsis", no_wrap=True, max_width=24)
    table.add_column("reason", overflow="fold", ratio=3)
    for row in rows[:limit]:
        cells = [f"{row['file']}:{row['line']}", row["field"] or "(whole)"]
        if with_ocid:
            cells.append(row["ocid"] or "")
        cells += [row["value"] or "", row["reason"]]
        table.add_row(*([row["run_id"]] if len(runs) > 1 else []), *cells)
    console.print(table)


def query_command(
    sql: Annotated[str, typer.Argument(help='One SQL query (DuckDB dialect), e.g. "SELECT * FROM processes LIMIT 5".')],
    limit: LimitOption = 100,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Run a read-only SQL query on the warehouse: a table, JSON or CSV. Tables are listed in docs/data-model.md
    (or: clearsight query "SHOW TABLES")."""
    with state.backend(spark=True, read_only=True) as backend:
        try:
            emit(backend, sql, [], as_json=json_output, as_csv=csv_output, limit=limit, title="")
        except EngineError as error:
            message = error.engine_message
            if "read-only" in message or "read_only" in message:
                message += " (clearsight query only reads; change the warehouse with the clearsight commands)"
            fail(message)
