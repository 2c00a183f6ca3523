"""`clearsight link ...`: record linkage — deduplicate a file, match two, link a dataset's registries, encode."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clearsight.cli.common import JsonOption, command_group, console, errors, fail, print_json, state
from clearsight.engine import EngineError

link_app = command_group(
    "Record linkage (Splink, Fellegi–Sunter): deduplicate, match, link registries, privacy-preserving encodings."
)

Threshold = Annotated[
    float, typer.Option(min=0.0, max=1.0, help="Match probability from which two records are one person.")
]
Seed = Annotated[int, typer.Option(help="Seed of the random sampling that trains the model (same seed, same result).")]


def _mapping(path: Path | None) -> Any:
    from clearsight.registry.mapping import MappingError, load_mapping

    if path is None:
        return None
    try:
        return load_mapping(path)
    except MappingError as error:
        fail(str(error), 2)


def _check_exists(*paths: Path) -> None:
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file", 2)


def _written(table: Any, out: Path, summary: dict[str, Any], json_output: bool, inputs: list[dict[str, Any]]) -> bool:
    """Write the result; print the JSON summary, or the inputs' counts and rejects. True when the caller should
    still print its line."""
    from clearsight.linkage.files import write_table

    write_table(table, out)
    summary["out"] = str(out)
    if json_output:
        print_json(summary)
        return False
    _print_inputs(inputs)
    return True


def _print_inputs(reports: list[dict[str, Any]]) -> None:
    for report in reports:
        console.print(
            f"{report['file']}: {report['rows']:,} rows, {report['loaded']:,} linked, {report['rejected']:,} rejected"
        )
        for reject in report["first_rejects"][:5]:
            errors.print(
                f"  [yellow]rejected[/] {report['file']} line {reject['line']} column {reject['column']}: "
                f"{reject['reason']} ({reject['value']!r})"
            )


@link_app.command("dedupe")
def dedupe_command(
    path: Annotated[Path, typer.Argument(help="CSV (with a header row) or Parquet.")],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="YAML mapping of canonical fields to columns.")],
    out: Annotated[Path, typer.Option(help="Pairs found (.csv or .parquet).")],
    clusters: Annotated[Path | None, typer.Option(help="Also write every record's cluster here.")] = None,
    threshold: Threshold = 0.9,
    seed: Seed = 42,
    json_output: JsonOption = False,
) -> None:
    """Find the records of one file that are the same person: pairs with match probability, match weight, cluster
    id and the explanation of every pair (each field's weight)."""
    from clearsight.linkage.files import dedupe_file, write_table
    from clearsight.linkage.model import LinkOptions
    from clearsight.registry.mapping import MappingError

    _check_exists(path)
    settings = _mapping(mapping)
    try:
        with console.status(f"deduplicating {path} …"):
            pairs, cluster_table, summary = dedupe_file(
                path, settings, LinkOptions(threshold=threshold, seed=seed, memory_limit=state.memory_limit)
            )
    except (MappingError, ValueError) as error:
        fail(str(error), 2)
    if clusters is not None:
        write_table(cluster_table, clusters)
    if _written(pairs, out, summary, json_output, [summary["input"]]):
        console.print(
            f"{summary['pairs']:,} pairs at match probability ≥ {threshold}, "
            f"{summary['clusters_with_several_records']:,} people with several records → {out} "
            f"({summary['seconds']:.1f}s, training: {summary['training']})"
        )


@link_app.command("pair")
def pair_command(
    left: Annotated[Path, typer.Argument(help="Left file: CSV or Parquet, or an encoded Parquet file.")],
    right: Annotated[Path, typer.Argument(help="Right file, of the same sort.")],
    out: Annotated[Path, typer.Option(help="Pairs found (.csv or .parquet).")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping of both files (plain files only).")
    ] = None,
    right_mapping: Annotated[Path | None, typer.Option(help="Mapping of the right file, when it differs.")] = None,
    threshold: Threshold = 0.9,
    seed: Seed = 42,
    json_output: JsonOption = False,
) -> None:
    """Match the records of two files: pairs (left id, right id) with match probability, match weight, cluster id
    and explanation. Two encoded files (clearsight link encode, same key) are matched on their encodings only."""
    from clearsight.linkage.encode import EncodingError
    from clearsight.linkage.files import pair_files
    from clearsight.linkage.model import LinkOptions
    from clearsight.registry.mapping import MappingError

    _check_exists(left, right)
    left_settings = _mapping(mapping)
    right_settings = _mapping(right_mapping) if right_mapping else left_settings
    try:
        with console.status(f"matching {left} with {right} …"):
            pairs, summary = pair_files(
                left,
                right,
                left_settings,
                right_settings,
                LinkOptions(threshold=threshold, seed=seed, memory_limit=state.memory_limit),
            )
    except (MappingError, EncodingError, ValueError) as error:
        fail(str(error), 2)
    inputs = summary["inputs"]
    if _written(
        pairs, out, summary, json_output, [inputs["left"], inputs["right"]] if inputs["mode"] == "plain" else []
    ):
        console.print(
            f"{summary['pairs']:,} pairs at match probability ≥ {threshold} ({inputs['mode']}) → {out} "
            f"({summary['seconds']:.1f}s, training: {summary['training']})"
        )


@link_app.command("keygen")
def keygen_command(
    out: Annotated[Path, typer.Option(help="Key file to create (keep it secret; share it only among agencies).")],
    json_output: JsonOption = False,
) -> None:
    """Create a secret key for `link encode`. Every agency encodes with the same key; the linkage unit never gets
    it."""
    from clearsight.linkage.encode import new_key

    if out.exists():
        fail(f"{out} exists; a key is never overwritten", 2)
    out.write_text(new_key() + "\n", encoding="utf-8")
    out.chmod(0o600)
    if json_output:
        print_json({"key_file": str(out), "mode": "0600"})
        return
    console.print(f"key written to {out} (mode 600)")


@link_app.command("encode")
def encode_command(
    path: Annotated[Path, typer.Argument(help="CSV (with a header row) or Parquet.")],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="YAML mapping of canonical fields to columns.")],
    key: Annotated[Path, typer.Option(help="Secret key file (clearsight link keygen).")],
    out: Annotated[Path, typer.Option(help="Encoded Parquet file to write.")],
    hardening: Annotated[str, typer.Option(help="balanced (default), xor-fold or none.")] = "balanced",
    json_output: JsonOption = False,
) -> None:
    """Turn a file's identifiers into keyed, hardened Bloom-filter encodings (run at each agency): the output holds
    record ids, encodings and hashed blocking keys — no names, dates or numbers."""
    from clearsight.linkage.encode import EncodingError, read_key
    from clearsight.linkage.files import encode_file
    from clearsight.registry.mapping import MappingError

    _check_exists(path, key)
    if out.suffix.lower() != ".parquet":
        fail("encodings are written as Parquet: give --out a .parquet name", 2)
    settings = _mapping(mapping)
    try:
        with console.status(f"encoding {path} …"):
            encoded, summary = encode_file(path, settings, read_key(key), hardening)
    except (MappingError, EncodingError) as error:
        fail(str(error), 2)
    if _written(encoded, out, summary, json_output, [summary["input"]]):
        console.print(
            f"{summary['records']:,} records encoded ({hardening}; key fingerprint "
            f"{summary['encoding']['clearsight.key_fingerprint']}) → {out}"
        )


@link_app.command("registries")
def registries_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset whose registries are linked.")] = "default",
    only: Annotated[
        str | None, typer.Option(help="Comma-separated linkages, e.g. payroll~civil,voters~voters.")
    ] = None,
    threshold: Threshold = 0.9,
    seed: Seed = 42,
    json_output: JsonOption = False,
) -> None:
    """Link the dataset's registries (payroll, beneficiaries and voters with the civil registry and with
    themselves; the company register with the payroll) → registry_links, read by the checks L001–L010."""
    from rich.table import Table

    from clearsight.linkage.model import LinkOptions
    from clearsight.linkage.registries import LINKAGES, link_registries

    selected = [name.strip() for name in only.split(",")] if only else None
    known = {f"{left}~{right}" for left, right in LINKAGES}
    if selected and set(selected) - known:
        fail(f"unknown linkage(s) {sorted(set(selected) - known)}; known: {', '.join(sorted(known))}", 2)
    options = LinkOptions(
        threshold=threshold,
        candidate_threshold=min(0.5, threshold),
        candidate_min_evidence=6.0,
        seed=seed,
        memory_limit=state.memory_limit,
    )
    with state.backend(spark=True) as backend:
        try:
            with console.status("linking registries …") as status:
                runs = link_registries(
                    backend, dataset, options, selected, progress=lambda name: status.update(f"linking {name} …")
                )
        except EngineError as error:
            fail(str(error))
    if json_output:
        print_json({"dataset": dataset, "runs": [run.to_dict() for run in runs]})
        return
    if not runs:
        fail(f"dataset {dataset!r} has no registries to link (clearsight ingest registry ...)", 2)
    table = Table(title=f"Registry linkages of {dataset}")
    for column in ("linkage", "left records", "right records", "pairs stored", "training", "seconds"):
        table.add_column(
            column, justify="left" if column in ("linkage", "training") else "right", no_wrap=column == "linkage"
        )
    for run in runs:
        table.add_row(
            run.linkage,
            f"{run.left_records:,}",
            f"{run.right_records:,}",
            f"{run.pairs:,}",
            run.training,
            f"{run.seconds:.1f}",
        )
    console.print(table)
    console.print(
        f"next: clearsight flags run --dataset {dataset} --only L001,L002,L003,L004,L005,L006,L007,L008,L009,L010"
    )
