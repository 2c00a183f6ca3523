"""What every command shares: consoles, global options, JSON output, errors."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from clearsight.engine import DEFAULT_DATABASE, open_backend
from clearsight.ledger import DEFAULT_LEDGER

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from clearsight.engine import Backend


class LazyConsole:
    """A rich Console made on first use: importing rich's console costs every command, `--version` included, a
    few hundredths of a second, and most invocations that print nothing through it (or only at the end)."""

    def __init__(self, **options: Any) -> None:
        self._options = options

    @functools.cached_property
    def real(self) -> Console:
        import rich.console

        return rich.console.Console(**self._options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


console = LazyConsole()
errors = LazyConsole(stderr=True)


class State:
    """Global options, set by the top-level callback."""

    database: str = DEFAULT_DATABASE
    ledger_option: str | None = None
    memory_limit: str = "1GB"
    engine: str = "duckdb"
    spark_master: str = "local[*]"
    spark_conf: dict[str, str] = {}  # noqa: RUF012 - replaced (not mutated) by the top-level callback
    wait: float = 60.0

    def backend(self, *, spark: bool = False, what: str = "this command", read_only: bool = False) -> Backend:
        """The warehouse on the chosen engine. Commands that do not run on Spark yet say so (`spark=False`).

        `read_only` commands share a DuckDB file with other readers (`clearsight serve` among them); a command
        that finds the file held by another process waits up to --wait seconds, saying so in one line, then
        stops with one line naming the holder."""
        if self.engine == "spark":
            if not spark:
                self.require_duckdb(what)
            memory = self.memory_limit.lower().removesuffix("b")  # 1GB → 1g, as the JVM writes it
            return open_backend(self.database, "spark", master=self.spark_master, memory=memory, config=self.spark_conf)
        from clearsight.engine import WarehouseBusy

        def waiting(busy: WarehouseBusy) -> None:
            errors.print(f"waiting up to {self.wait:g} s for the warehouse {self.database}: in use by {busy.holder}")

        if read_only and not Path(self.database).exists():
            # Nothing ingested yet: a reader sees an empty warehouse, and no file is created for it.
            errors.print(f"note: no warehouse at {self.database} yet (clearsight ingest ocds PATH makes one)")
            backend = open_backend(":memory:", memory_limit=self.memory_limit)
        else:
            try:
                backend = open_backend(
                    self.database, memory_limit=self.memory_limit, read_only=read_only, wait=self.wait, on_wait=waiting
                )
            except WarehouseBusy as busy:
                fail(f"{busy}; try again when it has finished (--wait SECONDS waits longer)")
        if read_only:
            from clearsight.model import ALL_TABLES

            backend.ensure_tables(ALL_TABLES)  # a reader of an older or partial warehouse sees every table
        return backend

    def require_duckdb(self, what: str) -> None:
        """Stop, saying so, when a command that reads a DuckDB warehouse file is given another engine."""
        if self.engine != "duckdb":
            fail(f"{what} runs on DuckDB only: it reads a DuckDB warehouse file (see docs/spark.md)", 2)

    @property
    def memory_bytes(self) -> int:
        """--memory-limit in bytes (the command stops, saying so, when it is not a size)."""
        try:
            return parse_size(self.memory_limit)
        except ValueError as error:
            fail(f"--memory-limit: {error}", 2)

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


_SIZE_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "KIB": 1024, "MIB": 1024**2,
               "GIB": 1024**3, "TIB": 1024**4, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}  # fmt: skip


def parse_size(text: str) -> int:
    """Bytes in a size as `--memory-limit` takes it: 1GB, 512MB, 1.5GB, 2GiB, 800000000."""
    import re

    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = match[2].upper() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (e.g. 1GB, 512MB, 2GiB)")
    return int(float(match[1]) * _SIZE_UNITS[unit])


def command_group(help_text: str, **options: Any) -> typer.Typer:
    """A group of commands. Help is click's plain text: rich's help formatting costs a fifth of a second at every
    `--help` (it loads a Markdown parser), and a command line tool answers `--help` at once."""
    return typer.Typer(
        help=help_text, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False, **options
    )


JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result instead of tables.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def counting_progress(label: str, quiet: bool) -> Progress:
    """A progress bar counting items on stderr; silent with --json or when stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors.real,
        disable=quiet or not errors.is_terminal,
        transient=True,
    )


def settle_ledger(backend: Any, log: str) -> int:
    """Append to the ledger's `log` what a killed run still owed it (`clearsight.engine.pending`), leaving out
    what already reached it; the number of entries appended."""
    from clearsight.engine import pending
    from clearsight.ledger.store import Ledger

    items = pending.owed(backend, log)
    if not items:
        return 0
    appended = 0
    with Ledger(state.ledger) as ledger:
        opened = ledger.log(log)
        for item in items:
            appended += len(opened.append_missing(pending.entries(backend, item), item.entry_type))
            pending.paid(backend, log, item.run_id)
    return appended


def record_owed(backend: Any, log: str, entry_type: str, entry: str) -> int:
    """After a run that recorded the entry `log` is owed (`clearsight.engine.pending`): append it (with anything
    a killed run still owed) and clear the record. Engines that keep no such record (Spark) append it here
    directly. Returns the entry's index in the log."""
    from clearsight.engine import pending
    from clearsight.ledger.store import Ledger

    if pending.supported(backend):
        settle_ledger(backend, log)
        with Ledger(state.ledger) as ledger:
            return ledger.log(log).size() - 1
    with Ledger(state.ledger) as ledger:
        return ledger.log(log).append([entry.encode()], entry_type).start
