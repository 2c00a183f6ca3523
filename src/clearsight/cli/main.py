"""The `clearsight` command: thin wrappers over the library, with progress bars, tables and --json."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clearsight import __version__
from clearsight.cli.common import (
    JsonOption,
    command_group,
    console,
    counting_progress,
    errors,
    fail,
    print_json,
    record_owed,
    settle_ledger,
    state,
)
from clearsight.cli.data import query_command, rejects_command
from clearsight.cli.flags import flags_app
from clearsight.cli.ledger import ledger_app
from clearsight.cli.link import link_app
from clearsight.cli.network import network_app
from clearsight.cli.screens import screens_app
from clearsight.cli.web import serve, users_app
from clearsight.engine import DEFAULT_DATABASE, ENGINES, EngineError
from clearsight.ledger import DEFAULT_LEDGER

if TYPE_CHECKING:
    from clearsight.engine import Backend

app = command_group(
    "Integrity analytics for open government data: ingest OCDS and registries, run red flags, cartel screens, "
    "supplier networks and record linkage, keep tamper-evident logs, and serve the portal and auditors' workbench.",
    name="clearsight",
    add_completion=False,
)
ingest_app = command_group("Load data into the warehouse.")
synth_app = command_group("Generate synthetic data with planted integrity problems and ground truth.")
app.add_typer(ingest_app, name="ingest")
app.add_typer(synth_app, name="synth")
app.add_typer(flags_app, name="flags")
app.add_typer(ledger_app, name="ledger")
app.add_typer(screens_app, name="screens")
app.add_typer(network_app, name="network")
app.add_typer(link_app, name="link")
app.add_typer(users_app, name="users")
app.command("serve")(serve)
app.command("rejects")(rejects_command)
app.command("query")(query_command)


def _version(value: bool) -> None:
    if value:
        console.print(f"clearsight {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    db: Annotated[
        str, typer.Option("--db", help="Warehouse file (DuckDB).", envvar="CLEARSIGHT_DB")
    ] = DEFAULT_DATABASE,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            help=f"Tamper-evident log file (SQLite); default {DEFAULT_LEDGER}, or beside --db.",
            envvar="CLEARSIGHT_LEDGER",
        ),
    ] = None,
    memory_limit: Annotated[
        str, typer.Option(help="Memory the engine may use, e.g. 1GB (`ingest ocds`, `flags run`: the whole run).")
    ] = "1GB",
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Analytical engine: duckdb (default; --db is a file) or spark (--db is a warehouse folder).",
            envvar="CLEARSIGHT_ENGINE",
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str,
        typer.Option("--spark-master", help="Spark master URL with --engine spark: local[*], spark://host:7077, …"),
    ] = "local[*]",
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(
            "--spark-conf",
            help="A Spark setting KEY=VALUE with --engine spark (repeatable), e.g. spark.executor.memory=8g.",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for a warehouse another process is using (a writer waits for everyone, a reader "
            "for a writer) before giving up.",
            envvar="CLEARSIGHT_WAIT",
        ),
    ] = 60.0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """clearsight: find red flags in public procurement and registries."""
    state.database = db
    state.ledger_option = ledger
    state.memory_limit = memory_limit
    state.wait = wait
    if engine not in ENGINES:
        fail(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}", 2)
    state.engine = engine
    state.spark_master = spark_master
    state.spark_conf = {}
    for setting in spark_conf or []:
        key, equals, value = setting.partition("=")
        if not equals or not key.strip():
            fail(f"--spark-conf {setting!r}: write KEY=VALUE, e.g. spark.executor.memory=8g", 2)
        state.spark_conf[key.strip()] = value.strip()


def _backend(spark: bool = False, what: str = "this command", read_only: bool = False) -> Backend:
    return state.backend(spark=spark, what=what, read_only=read_only)


@ingest_app.command("ocds")
def ingest_ocds_command(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders, globs or - for stdin (.json, .jsonl, .gz, .zip).")
    ],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Name of the dataset (publisher).")] = "default",
    compiled: Annotated[
        bool, typer.Option("--compiled", help="Every release is a compiled release, even without the 'compiled' tag.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every file (by default many files are summed by folder).")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Ingest OCDS releases, records, packages or compiled releases into the warehouse.

    Every input object is accounted for: loaded, or rejected with file, line, JSON path and reason
    (see `clearsight quality` and the ingest_rejects table). Re-running the same input changes nothing.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    from clearsight.ingest.pipeline import ingest_ocds
    from clearsight.ingest.sources import InputError
    from clearsight.ledger.store import canonical_json

    with _backend(spark=True, what="`ingest ocds`") as backend:
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=errors.real,
            disable=json_output or not errors.is_terminal,
            transient=True,
        )
        tasks: dict[str, Any] = {}

        def report(phase: str, advance: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task("reading" if phase == "read" else "compiling", total=total)
            progress.update(tasks[phase], advance=advance, total=total)

        settle_ledger(backend, INGEST_RUNS_LOG)  # a killed run's entry, if the ledger never got it
        try:
            with progress:
                summary = ingest_ocds(
                    backend, paths, dataset, progress=report, compiled=compiled,
                    ledger=(INGEST_RUNS_LOG, lambda done: canonical_json(_ingest_run_entry(done.to_dict())).decode()),
                    memory_budget=state.memory_bytes,
                )  # fmt: skip
        except InputError as error:
            fail(str(error), 2)
        except EngineError as error:
            fail(str(error))
        entry = canonical_json(_ingest_run_entry(summary.to_dict())).decode()
        index = record_owed(backend, INGEST_RUNS_LOG, "ingest_run", entry)
    data = summary.to_dict()
    data["ledger"] = {"file": state.ledger, "log": INGEST_RUNS_LOG, "index": index}
    if json_output:
        print_json(data)
        return
    console.print(_files_table(summary.files, f"ingest {summary.run_id} → dataset '{dataset}'", verbose))
    console.print(
        f"{summary.objects_read:,} objects read: {summary.releases_read:,} releases ({summary.new_releases:,} new, "
        f"{summary.duplicate_releases:,} already stored), {summary.rejected:,} rejected, {summary.blank:,} blank "
        f"lines; {summary.processes_written:,} processes written, {summary.quality_issues:,} values normalised "
        f"in {summary.duration_seconds:.2f} s."
    )
    if summary.skipped_files:
        skipped = summary.skipped_files
        if verbose or len(skipped) <= 3:
            listed = ", ".join(skipped)
        else:
            kinds: dict[str, int] = {}
            for name in skipped:
                suffix = Path(name).suffix or Path(name).name
                kinds[suffix] = kinds.get(suffix, 0) + 1
            listed = ", ".join(f"{count} {suffix}" for suffix, count in sorted(kinds.items(), key=lambda k: -k[1]))
            listed += " (--verbose lists them)"
        console.print(
            f"[yellow]{len(skipped)} files in folders skipped (not .json/.jsonl/.gz/.zip):[/] {listed}",
            highlight=False,
        )
    if summary.reject_reasons:
        console.print(
            "[yellow]rejects by reason:[/] "
            + ", ".join(f"{reason} ({count})" for reason, count in summary.reject_reasons.items())
        )
        console.print(f"  details: clearsight rejects --run {summary.run_id}")


FILES_LISTED = 10  # more input files than this are summed per folder and format unless --verbose


def _files_table(files: list[Any], title: str, verbose: bool) -> Any:
    """The files read: each one, or (when there are many) one row per folder and format — for a folder of
    publishers, one row per publisher."""
    from rich.table import Table

    table = Table(title=title)
    grouped = len(files) > FILES_LISTED and not verbose
    root = ""
    if grouped:
        import os

        archives = [file.path.partition("!")[0] for file in files]
        root = os.path.commonpath(archives) if all(path.startswith("/") for path in archives) else ""
        if root in archives:  # one archive: its members are grouped under it
            root = str(Path(root).parent)
        table.title = f"{title}: {len(files):,} files" + (f" in the folders of {root}" if root else " by folder")
        table.caption = "clearsight ingest ocds --verbose lists each file"
        table.add_column("folder", overflow="fold", min_width=19)
        table.add_column("files", justify="right")
    else:
        table.add_column("file", overflow="fold")
    table.add_column("format", no_wrap=True)
    with_blank = any(file.blank for file in files)  # the summary line counts blank lines anyway
    for column in ("objects", "releases", "rejected", "blank")[: 4 if with_blank else 3]:
        table.add_column(column, justify="right")
    rows: dict[tuple[str, ...], list[int]] = {}
    for file in files:
        if grouped:
            archive, _member = file.path.partition("!")[::2]
            folder = str(Path(archive).parent) if not _member else archive
            if root:  # a folder of publishers: one row per publisher (the first folder below what was given)
                parts = Path(folder).relative_to(root).parts if folder != root else ()
                folder = parts[0] if parts else "."
            key: tuple[str, ...] = (folder, file.format)
        else:
            key = (file.path, file.format)
        counts = rows.setdefault(key, [0, 0, 0, 0, 0])
        for position, value in enumerate((1, file.objects_read, file.releases_read, file.rejected, file.blank)):
            counts[position] += value
    for (name, file_format), (count, *numbers) in rows.items():
        cells = [name, f"{count:,}"] if grouped else [name]
        table.add_row(*cells, file_format, *(f"{number:,}" for number in numbers[: 4 if with_blank else 3]))
    return table


@ingest_app.command("registry")
def ingest_registry_command(
    kind: Annotated[str, typer.Argument(help="civil, payroll, beneficiaries, voters or companies.")],
    path: Annotated[Path, typer.Argument(help="The extract: CSV (with a header row) or Parquet.")],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="YAML mapping of canonical fields to columns.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Name of the registry's dataset.")] = "default",
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=100, help="Rows read, checked and stored at a time (memory).")
    ] = 50_000,
    json_output: JsonOption = False,
) -> None:
    """Ingest a registry extract through its mapping into registry_records.

    Rows missing a required field, with a date not in the mapping's format, a non-numeric amount or a repeated
    record_id are rejected with file, line, column, value and reason (registry_rejects). A record whose content
    changed since the last ingest becomes a new version; every new version's canonical JSON is appended to the
    ledger's `registry-KIND` log.
    """
    from clearsight.engine import pending
    from clearsight.ledger.store import BackgroundAppender
    from clearsight.registry.ingest import ingest_registry
    from clearsight.registry.mapping import KINDS, MappingError, load_mapping

    if kind not in KINDS:
        fail(f"unknown registry kind {kind!r}; known: {', '.join(KINDS)}", 2)
    if not path.exists():
        fail(f"{path}: no such file", 2)
    try:
        settings = load_mapping(mapping, kind)
    except MappingError as error:
        fail(str(error), 2)
    log_name = f"registry-{kind}"
    with _backend(spark=True, what="`ingest registry`") as backend:
        recovered = settle_ledger(backend, log_name)  # what a killed run still owed the ledger
        # The ledger appends each batch's versions in a thread of its own while the warehouse loads the next batch.
        with BackgroundAppender(state.ledger, log_name, f"registry_{kind}") as ledger:

            def to_ledger(versions: list[str]) -> None:
                ledger.append([text.encode() for text in versions])

            try:
                with console.status(f"reading {path} …", spinner="dots"):
                    summary = ingest_registry(
                        backend, path, settings, dataset, to_ledger, ledger_log=log_name, batch_rows=batch_rows
                    )
            except MappingError as error:
                fail(str(error), 2)
            except EngineError as error:
                fail(str(error))
        pending.paid(backend, log_name, summary.run_id)  # the ledger has every version: nothing is owed
    appended = ledger.appended + recovered
    data = {**summary.to_dict(), "ledger": {"file": state.ledger, "log": log_name, "appended": appended}}
    if json_output:
        print_json(data)
        return
    console.print(
        f"{summary.rows:,} rows of {path}: {summary.new_versions:,} new versions, {summary.unchanged:,} unchanged, "
        f"{summary.rejected_rows:,} rejected; {appended:,} entries appended to the ledger log {log_name}."
    )
    _print_reject_reasons(summary.reasons, summary.run_id)


@ingest_app.command("bods")
def ingest_bods_command(
    paths: Annotated[list[Path], typer.Argument(help="BODS files: JSON arrays, JSON Lines or packages.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Name of the ownership dataset.")] = "default",
    json_output: JsonOption = False,
) -> None:
    """Ingest Beneficial Ownership Data Standard statements (0.2, 0.3, 0.4): entities, persons (with political
    exposure) and ownership-or-control interests with their shares and dates.

    Every statement is stored once (a statement id seen before in the dataset is counted, not stored again) or
    rejected with file, position, JSON path and reason (`clearsight rejects`). Statements are streamed and stored
    in batches, each in one transaction: a re-run after a crash stores what an uninterrupted run stores. Every
    statement stored is appended, as published, to the ledger's `ownership-bods` log. See docs/ownership.md.
    """
    from clearsight.ownership.bods import StatementError, ingest_bods

    for path in paths:
        if not path.is_file():
            fail(f"{path}: no such file", 2)
    log_name = "ownership-bods"
    with _backend(spark=False, what="`ingest bods`") as backend:
        recovered = settle_ledger(backend, log_name)  # what a killed run still owed the ledger
        try:
            with console.status(f"reading {len(paths):,} file{'s' if len(paths) != 1 else ''} …", spinner="dots"):
                summary = ingest_bods(backend, paths, dataset, ledger_log=log_name)
        except (EngineError, StatementError) as error:
            fail(str(error))
        appended = settle_ledger(backend, log_name)
    data = {**summary.to_dict(), "ledger": {"file": state.ledger, "log": log_name, "appended": appended + recovered}}
    if json_output:
        print_json(data)
        return
    stored = data["stored"]
    console.print(
        f"{summary.read:,} statements read from {len(paths):,} file{'s' if len(paths) != 1 else ''}: "
        f"{_counted(stored['entity'], 'entity', 'entities')}, {_counted(stored['person'], 'person', 'persons')} and "
        f"{_counted(stored['relationship'], 'relationship', 'relationships')} stored, "
        f"{summary.already_stored:,} already stored, {summary.rejected:,} rejected; "
        f"{_counted(appended, 'entry', 'entries')} appended to the ledger log {log_name}."
    )
    _print_reject_reasons(summary.reasons, summary.run_id)


def _print_reject_reasons(reasons: Mapping[str, int], run_id: str) -> None:
    """Rejects counted by reason, and the command that lists them."""
    if reasons:
        console.print(
            "[yellow]rejects by reason:[/] "
            + ", ".join(f"{reason} ({count})" for reason, count in sorted(reasons.items()))
        )
        console.print(f"  details: clearsight rejects --run {run_id}")


def _counted(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


INGEST_RUNS_LOG = "ingest-runs"


def _ingest_run_entry(summary: dict[str, Any]) -> dict[str, Any]:
    """The ledger's `ingest-runs` entry of a run: its inputs with their SHA-256, its counts, and the runs it
    found killed before they finished (whose stored rows it kept and completed)."""
    entry = {
        key: summary[key]
        for key in (
            "run_id",
            "dataset",
            "objects_read",
            "releases_read",
            "new_releases",
            "processes_written",
            "rejected",
            "blank",
            "quality_issues",
        )
    }
    entry["files"] = [
        {"path": file["path"], "sha256": file["sha256"], "bytes": file["bytes"]} for file in summary["files"]
    ]
    if summary.get("interrupted_runs"):
        entry["interrupted_runs"] = summary["interrupted_runs"]
    return entry


@app.command("report")
def report_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset reported on.")] = "default",
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    run: Annotated[str | None, typer.Option(help="Flag run id (default: the dataset's latest).")] = None,
    processes: Annotated[int, typer.Option(help="How many of the riskiest processes get a section.")] = 100,
    json_output: JsonOption = False,
) -> None:
    """Write the red-flag report: one self-contained HTML file with charts and explanations, readable offline."""
    from clearsight.report.html import ReportError, build_report

    with _backend(spark=True, read_only=True) as backend:
        try:
            html = build_report(backend, dataset, run, processes)
        except ReportError as error:
            fail(str(error), 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    if json_output:
        print_json({"out": str(out), "bytes": len(html.encode())})
    else:
        console.print(f"report written to {out} ({len(html.encode()) / 1024:,.0f} KB): open it in a browser")


@app.command("quality")
def quality_command(
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Only this dataset.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Field coverage per dataset, issues and rejects from ingest, and which red flags the data can support."""
    from rich.table import Table

    from clearsight.ingest.quality import quality_report

    with _backend(spark=True, read_only=True) as backend:
        report = quality_report(backend, dataset)
    if json_output:
        print_json(report)
        return
    if not report["datasets"]:
        console.print("The warehouse holds no data yet: run `clearsight ingest ocds PATH`.")
        return
    for name, data in report["datasets"].items():
        console.rule(f"dataset {name}: {data['processes']} processes")
        coverage = Table(title="field coverage (share of processes)", show_lines=False)
        coverage.add_column("field")
        coverage.add_column("coverage", justify="right")
        coverage.add_column("")
        for field, share in sorted(data["coverage"].items(), key=lambda item: -item[1]):
            coverage.add_row(field, f"{share:.0%}", "█" * round(share * 20))
        console.print(coverage)
        flags = Table(title="red flags the data can support")
        for column in ("code", "title", "status", "min coverage"):
            flags.add_column(column)
        colours = {"supported": "green", "partial": "yellow", "unsupported": "red"}
        for flag in data["flags"]:
            flags.add_row(
                flag["code"],
                flag["title"],
                f"[{colours[flag['status']]}]{flag['status']}[/]",
                f"{flag['coverage']:.0%}",
            )
        console.print(flags)
        if data["issues"]:
            issues = Table(title="values normalised or dropped at ingest")
            for column in ("issue", "path", "count"):
                issues.add_column(column)
            for issue in data["issues"][:30]:
                issues.add_row(issue["issue"], issue["path"], str(issue["count"]))
            console.print(issues)
        if data["rejects"]:
            rejects = Table(title="rejected input")
            rejects.add_column("reason")
            rejects.add_column("count", justify="right")
            for reject in data["rejects"]:
                rejects.add_row(reject["reason"], str(reject["count"]))
            console.print(rejects)


@app.command("load")
def load_command(
    source: Annotated[Path, typer.Argument(help="A DuckDB warehouse file to copy the canonical tables from.")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Only this dataset (default: all).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Copy a DuckDB warehouse's tables into the warehouse of --engine/--db (e.g. a Spark warehouse folder)."""
    from rich.table import Table

    from clearsight.engine import DuckDBBackend
    from clearsight.engine.transfer import copy_tables
    from clearsight.model import ALL_TABLES

    if not source.exists():
        fail(f"no DuckDB warehouse at {source}", 2)
    with (
        DuckDBBackend(source, read_only=True, memory_limit=state.memory_limit) as origin,
        _backend(spark=True) as backend,
        counting_progress("tables", json_output) as progress,
    ):
        task = progress.add_task("tables", total=len(ALL_TABLES))
        try:
            copied = copy_tables(
                origin, backend, ALL_TABLES, dataset, progress=lambda _table, _rows: progress.advance(task)
            )
        except EngineError as error:
            fail(str(error))
    if json_output:
        print_json({"source": str(source), "target": state.database, "engine": state.engine, "rows": copied})
        return
    table = Table(title=f"{source} → {state.database} ({state.engine})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in copied.items():
        if rows:
            table.add_row(name, f"{rows:,}")
    console.print(table)


@app.command("summary")
def summary_command(json_output: JsonOption = False) -> None:
    """Row counts of every warehouse table, per dataset, and the latest ingest runs."""
    from rich.table import Table

    from clearsight.model import ALL_TABLES, CONTRACTING_TABLES

    with _backend(spark=True, read_only=True) as backend:
        backend.ensure_tables(ALL_TABLES)
        counts: dict[str, dict[str, int]] = {}
        for table in CONTRACTING_TABLES:
            for dataset, count in backend.query(f"SELECT dataset, count(*) FROM {table.name} GROUP BY dataset"):
                counts.setdefault(dataset, {})[table.name] = count
        del table
        runs = backend.query_dicts(
            "SELECT run_id, dataset, objects_read, releases_read, new_releases, processes_written, rejected, "
            "duration_seconds FROM ingest_runs ORDER BY started_at DESC LIMIT 5"
        )
    if json_output:
        print_json({"database": state.database, "tables": counts, "recent_ingest_runs": runs})
        return
    overview = Table(title=f"warehouse {state.database}")
    overview.add_column("table")
    names = sorted(counts)
    for name in names:
        overview.add_column(name, justify="right")
    for contracting_table in CONTRACTING_TABLES:
        overview.add_row(
            contracting_table.name, *(f"{counts[name].get(contracting_table.name, 0):,}" for name in names)
        )
    console.print(overview)
    if runs:
        from clearsight.cli.data import readable

        recent = Table(title="recent ingest runs")
        recent.caption = "objects read and new releases: clearsight summary --json"
        recent.add_column("run", overflow="fold")
        recent.add_column("dataset", no_wrap=True)
        for column in ("releases", "processes", "rejected", "seconds"):
            recent.add_column(column, justify="right")
        for run in runs:
            numbers = (readable(run[key]) for key in ("releases_read", "processes_written", "rejected"))
            recent.add_row(run["run_id"], run["dataset"], *numbers, f"{run['duration_seconds'] or 0:.1f}")
        console.print(recent)


@synth_app.command("procurement")
def synth_procurement_command(
    processes: Annotated[int, typer.Option("--processes", "-n", min=1, help="Number of contracting processes.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
    out: Annotated[Path, typer.Option(help="Output file of compiled releases (JSON Lines; .gz compresses).")] = Path(
        "synthetic.jsonl"
    ),
    truth: Annotated[Path | None, typer.Option(help="Ground-truth file (CSV); default: OUT with .truth.csv")] = None,
    json_output: JsonOption = False,
) -> None:
    """Write realistic OCDS compiled releases with planted integrity problems, and their ground truth."""
    from rich.table import Table

    from clearsight.synth.procurement import generate_procurement

    truth_path = truth or out.with_name(out.name.split(".")[0] + ".truth.csv")
    with counting_progress("generating", json_output) as progress:
        task = progress.add_task("generating", total=processes)
        result = generate_procurement(
            processes, seed, out, truth_path, on_progress=lambda done: progress.update(task, completed=done)
        )
    if json_output:
        print_json(result)
        return
    console.print(f"wrote {result['processes']} processes to {out} and ground truth to {truth_path}")
    planted = Table(title="planted problems")
    planted.add_column("problem")
    planted.add_column("processes", justify="right")
    for problem, count in result["planted"].items():
        planted.add_row(problem, str(count))
    console.print(planted)


@synth_app.command("land-titles")
def synth_land_titles_command(
    titles: Annotated[int, typer.Option(min=1, help="Number of parcels registered.")] = 1000,
    transfers: Annotated[int, typer.Option(min=0, help="Number of ownership transfers after registration.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
    out: Annotated[Path, typer.Option(help="Output file (JSON Lines, one event per line).")] = Path(
        "land-titles.jsonl"
    ),
    json_output: JsonOption = False,
) -> None:
    """Write a synthetic land-title register (registrations, then transfers) for the ledger scenario."""
    from clearsight.synth.land import write_land_titles

    result = write_land_titles(titles, transfers, seed, out)
    if json_output:
        print_json(result)
    else:
        console.print(f"wrote {result['events']} events ({titles} registrations, {transfers} transfers) to {out}")


@synth_app.command("registries")
def synth_registries_command(
    people: Annotated[int, typer.Option("--people", "-n", min=1, help="People in the civil registry.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    out: Annotated[Path, typer.Option(help="Directory for the registries, their mappings and the answers.")] = Path(
        "registries"
    ),
    noise: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="How often clerks mistype, abbreviate or swap (per field).")
    ] = 0.15,
    months: Annotated[int, typer.Option(min=1, help="Monthly pay periods in the payroll (ending October 2026).")] = 1,
    employment: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of working-age people on the state payroll.")
    ] = 0.3,
    json_output: JsonOption = False,
) -> None:
    """Write a civil registry, payroll, beneficiaries, voter roll and company register with planted ghosts,
    deceased payees, duplicates, shared accounts, ineligible and excluded people, and the answers (truth.csv,
    identities.csv). Each registry comes with its mapping file for `clearsight ingest registry`."""
    from rich.table import Table

    from clearsight.synth.registries import generate_registries

    with counting_progress("people", json_output) as progress:
        task = progress.add_task("people", total=people)
        summary = generate_registries(
            out,
            people,
            seed,
            noise,
            progress=lambda done: progress.update(task, advance=done),
            months=months,
            employment=employment,
        )
    if json_output:
        print_json(summary.__dict__)
        return
    records = Table(title=f"synthetic registries in {out}")
    records.add_column("registry")
    records.add_column("records", justify="right")
    for kind, count in summary.records.items():
        records.add_row(kind, f"{count:,}")
    console.print(records)
    planted = Table(title="planted problems (truth.csv)")
    planted.add_column("problem")
    planted.add_column("records", justify="right")
    for problem, count in summary.problems.items():
        planted.add_row(problem, f"{count:,}")
    console.print(planted)
