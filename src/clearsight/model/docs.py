"""Render the canonical schema as Markdown (docs/data-model.md is this output; a test keeps them equal)."""

from __future__ import annotations

from clearsight.model.schema import (
    BOOKKEEPING_TABLES,
    CONTRACTING_TABLES,
    FLAG_TABLES,
    NETWORK_TABLES,
    OWNERSHIP_TABLES,
    REGISTRY_TABLES,
    SCREEN_RESULTS,
    Table,
)

INTRODUCTION = """\
# Data model

The warehouse holds one set of canonical tables. Every contracting table is keyed by `dataset` (the name
given at ingest, so several publishers live side by side) and `ocid`, and holds the facts of the **compiled
release** of each contracting process (releases merged with the OCDS merge rules, or the compiled release a
publisher provides). OCDS paths are written from the compiled release's root; `*` stands for any of
`tender`, `awards` or `contracts`.

Conventions:

- Dates are `TIMESTAMPTZ` in UTC. Dates published without a time-zone offset are read as UTC.
- Amounts are `DOUBLE`; amounts published as strings ("1,000.50") are parsed, and the original value is kept
  in `quality_issues`.
- OCDS 1.0 organisation references have no `id`; their id is `scheme-identifier` (e.g. `MX-RFC-ABC123`).
- Lists (`VARCHAR[]`) keep the published order; `JSON` columns keep nested arrays as published.

This page is generated from `clearsight.model.schema` (`make docs`); a test fails when they differ.
"""


def _table_markdown(table: Table) -> str:
    lines = [f"### `{table.name}`", "", table.description, ""]
    if table.key:
        lines += [f"Key: `{', '.join(table.key)}`.", ""]
    lines += ["| column | type | OCDS path | meaning |", "|---|---|---|---|"]
    for column in table.columns:
        path = f"`{column.ocds_path}`" if column.ocds_path else ""
        lines.append(f"| `{column.name}` | {column.type} | {path} | {column.description} |")
    return "\n".join(lines) + "\n"


def render() -> str:
    parts = [INTRODUCTION, "## Contracting tables\n"]
    parts += [_table_markdown(table) for table in CONTRACTING_TABLES]
    parts.append("## Bookkeeping tables\n")
    parts += [_table_markdown(table) for table in BOOKKEEPING_TABLES]
    parts.append("## Red-flag tables\n")
    parts += [_table_markdown(table) for table in FLAG_TABLES]
    parts.append("## Screens\n")
    parts.append(_table_markdown(SCREEN_RESULTS))
    parts.append("## Supplier network\n")
    parts += [_table_markdown(table) for table in NETWORK_TABLES]
    parts.append("## Registries\n")
    parts += [_table_markdown(table) for table in REGISTRY_TABLES]
    parts.append("## Beneficial ownership\n")
    parts += [_table_markdown(table) for table in OWNERSHIP_TABLES]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
