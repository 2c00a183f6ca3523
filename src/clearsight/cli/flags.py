"""`clearsight flags ...`: list, explain, run and scaffold red-flag indicators."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from clearsight.cli.common import (
    JsonOption,
    command_group,
    console,
    counting_progress,
    fail,
    print_json,
    record_owed,
    settle_ledger,
    state,
)
from clearsight.engine import EngineError
from clearsight.flags import shipped_profiles

flags_app = command_group("Red-flag indicators: list, explain, run, scaffold.")

REPO_DOCS = Path("docs") / "flags"
FLAG_RUNS_LOG = "flag-runs"


def doc_path(code: str, root: Path = Path()) -> Path:
    return root / REPO_DOCS / f"{code}.md"


@flags_app.command("list")
def list_command(json_output: JsonOption = False) -> None:
    """Every indicator: code, title, subjects, parameters (with defaults) and source."""
    from rich.table import Table

    from clearsight.flags.registry import indicators

    rows: list[dict[str, Any]] = []
    for item in indicators():
        schema = item.params.model_json_schema().get("properties", {})
        defaults = item.params().model_dump()
        rows.append(
            {
                "code": item.code,
                "title": item.title,
                "summary": item.summary,
                "subject_types": list(item.subject_types),
                "parameters": {
                    name: {"default": defaults.get(name), "description": spec.get("description", "")}
                    for name, spec in schema.items()
                },
                "source": item.source,
            }
        )
    if json_output:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} indicators")
    for column in ("code", "title", "subjects", "parameters"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["code"],
            row["title"],
            ", ".join(row["subject_types"]),
            ", ".join(f"{name}={spec['default']}" for name, spec in row["parameters"].items()),
        )
    console.print(table)


@flags_app.command("explain")
def explain_command(
    code: Annotated[str, typer.Argument(help="Indicator code, e.g. R024.")],
    sql: Annotated[bool, typer.Option("--sql", help="Also print the SQL for the dataset and profile.")] = False,
    dataset: Annotated[str, typer.Option("--dataset", "-d")] = "default",
    profile: Annotated[str | None, typer.Option(help="Profile name or TOML file (for --sql).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show an indicator's documentation page in the terminal (methodology, example, parameters, exclusions)."""
    from rich.markdown import Markdown

    from clearsight.flags.profile import ProfileError, load_profile
    from clearsight.flags.registry import indicator

    try:
        item = indicator(code)
    except KeyError as error:
        fail(str(error.args[0]), 2)
    page = _find_doc(item.code)
    text = page.read_text(encoding="utf-8") if page else None
    rendered = None
    if sql:
        from clearsight.flags.runner import render

        try:
            rendered = render(item.code, dataset, load_profile(profile))
        except ProfileError as error:
            fail(str(error), 2)
    if json_output:
        schema = item.params.model_json_schema().get("properties", {})
        defaults = item.params().model_dump()
        print_json(
            {
                "code": item.code,
                "title": item.title,
                "summary": item.summary,
                "subject_types": list(item.subject_types),
                "source": item.source,
                "parameters": {
                    name: {"default": defaults.get(name), "description": spec.get("description", "")}
                    for name, spec in schema.items()
                },
                "documentation": text,
                "sql": rendered,
            }
        )
        return
    console.print(Markdown(text) if text else f"{item.code} {item.title}: {item.summary}")
    if rendered is not None:
        console.print(rendered, soft_wrap=True, highlight=False)


def _find_doc(code: str) -> Path | None:
    """The indicator's page: shipped inside the package (wheel), or beside it in a checkout."""
    from importlib import resources

    shipped = resources.files("clearsight.flags").joinpath("docs", f"{code}.md")
    if shipped.is_file():
        return Path(str(shipped))
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        candidate = doc_path(code, root)
        if candidate.exists():
            return candidate
    return None


@flags_app.command("run")
def run_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset to judge.")] = "default",
    profile: Annotated[str | None, typer.Option(help=f"Profile: a TOML file or one of {shipped_profiles()}.")] = None,
    only: Annotated[str | None, typer.Option(help="Comma-separated codes to run, e.g. R024,R035.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Run the indicators on a dataset; every verdict goes to the flag_results table."""
    from rich.table import Table

    from clearsight.flags.base import STATUSES
    from clearsight.flags.profile import ProfileError, load_profile
    from clearsight.flags.registry import indicator, indicators
    from clearsight.flags.runner import run_flags
    from clearsight.ledger.store import canonical_json

    try:
        settings = load_profile(profile)
        codes = [code.strip().upper() for code in only.split(",")] if only else None
        for code in codes or []:
            indicator(code)
    except ProfileError as error:
        fail(str(error), 2)
    except KeyError as error:
        fail(str(error.args[0]), 2)
    total = len(codes) if codes else sum(settings.enabled(item.code) for item in indicators())
    with state.backend(spark=True) as backend:
        known = any(
            backend.has_table(table)
            and backend.query_value(f"SELECT count(*) FROM {table} WHERE dataset = ?", [dataset])
            for table in ("processes", "registry_records")
        )
        if not known:
            fail(
                f"dataset {dataset!r} has neither processes nor registry records in {state.database}: ingest it first",
                2,
            )
        settle_ledger(backend, FLAG_RUNS_LOG)  # a killed run's entry, if the ledger never got it
        with counting_progress("indicators", json_output) as progress:
            task = progress.add_task("indicators", total=total)
            try:
                summary = run_flags(
                    backend, dataset, settings, codes, progress=lambda code: progress.advance(task),
                    ledger=(FLAG_RUNS_LOG, lambda done: canonical_json(done.to_dict()).decode()),
                    memory_budget=state.memory_bytes,
                )  # fmt: skip
            except EngineError as error:
                fail(str(error))
        record_owed(backend, FLAG_RUNS_LOG, "flag_run", canonical_json(summary.to_dict()).decode())
    if json_output:
        print_json(summary.to_dict())
        return
    table = Table(title=f"{summary.run_id}: dataset '{dataset}', profile '{settings.name}'")
    table.add_column("indicator")
    for status in STATUSES:
        table.add_column(status, justify="right")
    table.add_column("seconds", justify="right")
    for code, counts in summary.counts.items():
        table.add_row(code, *(str(counts[status]) for status in STATUSES), f"{summary.seconds[code]:.2f}")
    console.print(table)


SCAFFOLD_MODULE = '''"""{code} — {title}."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from clearsight.flags.base import Indicator, Params


class {code}Params(Params):
    threshold: float = Field(0, description="TODO: what is compared with what.")


INDICATOR = Indicator(
    code="{code}",
    title="{title}",
    summary="TODO: one sentence saying what is flagged.",
    subject_types=("process",),
    source="TODO: cite the source (e.g. OCP Red Flags in Public Procurement, 2024, {code}).",
    params={code}Params,
    sql_path=Path(__file__).with_suffix(".sql"),
)
'''

SCAFFOLD_SQL = """-- {code} {title}: TODO say what is measured.
SELECT
    'process' AS subject_type, p.ocid AS subject_id, p.ocid,
    'insufficient_data' AS status, NULL AS value, ${{threshold}} AS threshold,
    to_json({{'reason': 'not implemented yet'}}) AS evidence
FROM ${{scope}} AS p
"""

SCAFFOLD_CASES = """indicator: {code}
cases:
  - name: TODO describe the case
    releases:
      - {{ocid: ocds-x-1, tender: {{}}}}
    expect:
      - {{subject_type: process, subject_id: ocds-x-1, status: insufficient_data}}
"""

SCAFFOLD_DOC = """# {title} ({code})

TODO: one sentence saying what is flagged.

## Methodology

## Example

## Why is this a red flag?

## Based on

## Output

## Configuration

## Exclusions

## Demonstration

Input (compiled releases, one per line):

```jsonl
{{"ocid": "ocds-x-1", "tender": {{}}}}
```

Output (`clearsight flags run --only {code}`, rows of flag_results):

```json
[{{"subject_type": "process", "subject_id": "ocds-x-1", "status": "insufficient_data"}}]
```
"""


@flags_app.command("scaffold")
def scaffold_command(
    code: Annotated[str, typer.Argument(help="New indicator code, e.g. R044.")],
    title: Annotated[str, typer.Option(help="Short title.")],
    root: Annotated[Path, typer.Option(help="Repository root.")] = Path(),
    json_output: JsonOption = False,
) -> None:
    """Create the four files of a new indicator: module, SQL, YAML cases and documentation page."""
    code = code.upper()
    if not re.match(r"^[A-Z]\d{3}$", code):
        fail("a code is a letter and three digits, e.g. R044", 2)
    files = {
        root / "src" / "clearsight" / "flags" / "indicators" / f"{code.lower()}.py": SCAFFOLD_MODULE,
        root / "src" / "clearsight" / "flags" / "indicators" / f"{code.lower()}.sql": SCAFFOLD_SQL,
        root / "tests" / "flags" / "cases" / f"{code}.yaml": SCAFFOLD_CASES,
        doc_path(code, root): SCAFFOLD_DOC,
    }
    existing = [str(path) for path in files if path.exists()]
    if existing:
        fail(f"refusing to overwrite {', '.join(existing)}", 2)
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(code=code, title=title), encoding="utf-8")
    next_step = "fill in the TODOs; `make test` checks that the four files belong together"
    if json_output:
        print_json({"code": code, "created": [str(path) for path in files], "next": next_step})
        return
    for path in files:
        console.print(f"created {path}")
    console.print(f"next: {next_step}")


@flags_app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="Output file: .csv, .parquet or .json.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d")] = "default",
    run: Annotated[str | None, typer.Option(help="Flag run id (default: the dataset's latest).")] = None,
    risk: Annotated[bool, typer.Option("--risk", help="Export risk_scores instead of flag_results.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Export a run's flag results (or risk scores) to CSV, Parquet or JSON."""
    from clearsight.report.export import export_results
    from clearsight.report.html import ReportError, _latest_run

    with state.backend(spark=True, read_only=True) as backend:
        try:
            run_id = run or _latest_run(backend, dataset)
            rows = export_results(backend, run_id, out, "risk_scores" if risk else "flag_results")
        except (ReportError, ValueError) as error:
            fail(str(error), 2)
    if json_output:
        print_json({"run_id": run_id, "out": str(out), "rows": rows})
    else:
        console.print(f"wrote {rows:,} rows of run {run_id} to {out}")
