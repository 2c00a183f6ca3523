"""Derive OCDS merge rules (omitWhenMerged, wholeListMerge) from a release schema.

The rules shipped with clearsight (`merge_rules.json`) were derived by `derive_merge_rules` from the OCDS 1.1
release schema; `tests/test_merge.py` re-derives them from `../shared/data/ocds/schema-1.1` to keep them true.
See https://standard.open-contracting.org/1.1/en/schema/merging/ for the rules themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

OMIT = "omitWhenMerged"
WHOLE_LIST = "wholeListMerge"


def _types(node: dict[str, Any]) -> list[str]:
    declared = node.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    # Follow local references ("#/definitions/Name"). As in JSON Schema draft 4 (and the reference
    # implementation), keywords beside a "$ref" are ignored: `publisher` is therefore not omitted when merged.
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _walk(properties: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for key, raw in properties.items():
        node = _resolve(raw, schema)
        new_path = (*path, key)
        types = _types(node)
        if node.get("omitWhenMerged") or node.get("mergeStrategy") == "ocdsOmit":
            yield "/".join(new_path), OMIT
        elif "array" in types and (node.get("wholeListMerge") or node.get("mergeStrategy") == "ocdsVersion"):
            yield "/".join(new_path), WHOLE_LIST
        elif "object" in types and "properties" in node:
            yield from _walk(node["properties"], schema, new_path)
        elif "array" in types and "items" in node:
            items = _resolve(node["items"], schema)
            item_types = _types(items)
            if any(item_type != "object" for item_type in item_types):
                yield "/".join(new_path), WHOLE_LIST
            elif "properties" in items:
                if "id" not in items["properties"]:
                    yield "/".join(new_path), WHOLE_LIST
                else:
                    yield from _walk(items["properties"], schema, new_path)


def derive_merge_rules(release_schema: dict[str, Any]) -> dict[str, str]:
    """Merge rules of a release schema: slash-separated field path → rule."""
    return dict(sorted(_walk(release_schema["properties"], release_schema, ())))


@cache
def shipped_merge_rules() -> dict[tuple[str, ...], str]:
    """The merge rules shipped with clearsight (OCDS 1.1), keyed by path tuples."""
    text = resources.files("clearsight.ingest").joinpath("merge_rules.json").read_text(encoding="utf-8")
    return {tuple(path.split("/")): rule for path, rule in json.loads(text).items()}
