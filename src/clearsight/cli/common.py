"""What every command shares: consoles, global options, JSON output, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clearsight.engine import DEFAULT_DATABASE, Backend, open_backend
from clearsight.ledger.store import DEFAULT_LEDGER

console = Console()
errors = Console(stderr=True)


class State:
    """Global options, set by the top-level callback."""

    database: str = DEFAULT_DATABASE
    ledger_option: str | None = None
    memory_limit: str = "1GB"
    engine: str = "duckdb"
    spark_master: str = "local[*]"
    spark_conf: dict[str, str] = {}  # noqa: RUF012 - replaced (not mutated) by the top-level callback

    def backend(self, *, spark: bool = False, what: str = "this command") -> Backend:
        """The warehouse on the chosen engine. Commands that do not run on Spark yet say so (`spark=False`)."""
        if self.engine == "spark":
            if not spark:
                self.require_duckdb(what)
            memory = self.memory_limit.lower().removesuffix("b")  # 1GB → 1g, as the JVM writes it
            return open_backend(self.database, "spark", master=self.spark_master, memory=memory, config=self.spark_conf)
        return open_backend(self.database, memory_limit=self.memory_limit)

    def require_duckdb(self, what: str) -> None:
        """Stop, saying so, when a command that reads a DuckDB warehouse file is given another engine."""
        if self.engine != "duckdb":
            fail(f"{what} runs on DuckDB only: it reads a DuckDB warehouse file (see docs/spark.md)", 2)

    @property
    def ledger(self) -> str:
        """The ledger file: --ledger, or beside the warehouse (clearsight.duckdb → clearsight-ledger.sqlite)."""
        if self.ledger_option:
            return self.ledger_option
        if self.database == DEFAULT_DATABASE:
            return DEFAULT_LEDGER
        database = Path(self.database)
        return str(database.with_name(f"{database.stem}-ledger.sqlite"))


state = State()

JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result instead of tables.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def counting_progress(label: str, quiet: bool) -> Progress:
    """A progress bar counting items on stderr; silent with --json or when stderr is not a terminal."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=quiet or not errors.is_terminal,
        transient=True,
    )
