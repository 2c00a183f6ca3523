"""Compile the releases of one contracting process into a compiled release (OCDS merge rules).

Implements https://standard.open-contracting.org/1.1/en/schema/merging/ : releases are applied in date
order; objects merge field by field; arrays of objects merge by `id` (objects without an `id` are always
appended); arrays of non-objects and `wholeListMerge` arrays are replaced whole; `omitWhenMerged` fields are
dropped; a field set to null is removed. Edge cases follow the reference implementation (ocdsmerge), which
the tests compare against: empty objects and arrays leave earlier values untouched, and a scalar or null never
removes an object or merged array that earlier releases built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clearsight.ingest.merge_rules import OMIT, WHOLE_LIST, shipped_merge_rules

Rules = Mapping[tuple[str, ...], str]


class MergeError(ValueError):
    """Releases of one process cannot be merged (e.g. an object in one release, an array in another)."""

    def __init__(self, path: tuple[str, ...], message: str) -> None:
        super().__init__(f"/{'/'.join(path)}: {message}")
        self.path = "/".join(path)
        self.release: Mapping[str, Any] | None = None  # the release that could not be merged, once known
        self.source: tuple[str, int | None] | None = None  # its file and line, when the caller knows them


def _json_kind(value: object) -> str:
    """How JSON calls a value's type, for messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array of values" if not all(isinstance(item, dict) for item in value) else "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


class _MergedDict(dict):  # type: ignore[type-arg]
    """An object built by merging (as opposed to a value copied whole from a release)."""


class _MergedList(list):  # type: ignore[type-arg]
    """An array built by identifier merge; `by_id` maps each `id` to its object."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, _MergedDict] = {}


def _identifier(value: Any) -> str:
    # Ids are compared as text: 1 and "1" identify the same object (the first spelling is kept), as in the
    # reference implementation.
    return value if type(value) is str else str(value)


class Compiler:
    """Compiles releases with a given set of merge rules (OCDS 1.1 by default)."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules: Rules = rules if rules is not None else shipped_merge_rules()

    def compile(self, releases: Iterable[Mapping[str, Any]], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Merge releases (sorted by `date`, stably) into one compiled release.

        `base`, when given, is an earlier compiled release that the releases are applied on top of.
        """
        ordered = sorted(releases, key=lambda release: _date_key(release.get("date")))
        compiled = _MergedDict()
        ocid = base.get("ocid") if base else None
        date = base.get("date") if base else None
        for release in [base, *ordered] if base else ordered:
            try:
                self._merge_object(compiled, release, ())
            except MergeError as error:
                error.release = release
                raise
            if release is base:
                continue
            ocid = release.get("ocid", ocid)
            date = release.get("date")
        result: dict[str, Any] = _plain(compiled)
        result["tag"] = ["compiled"]
        result["id"] = f"{ocid}-{date}"
        result["date"] = date
        result["ocid"] = ocid
        return result

    def _merge_object(self, target: _MergedDict, source: Mapping[str, Any], rule_path: tuple[str, ...]) -> None:
        rules = self.rules
        for key, value in source.items():
            path = (*rule_path, key)
            rule = rules.get(path)
            if rule == OMIT or (not rule_path and key in ("tag", "id", "date")):
                continue
            if (
                rule == WHOLE_LIST
                or not isinstance(value, (dict, list))
                or (isinstance(value, list) and not all(isinstance(item, dict) for item in value))
            ):
                existing = target.get(key)
                if isinstance(existing, (_MergedDict, _MergedList)):
                    continue  # a value never replaces what earlier releases merged
                target[key] = value
            elif not value:
                continue  # empty objects and arrays change nothing
            elif isinstance(value, dict):
                self._merge_into_child_object(target, key, value, path)
            else:
                self._merge_array(target, key, value, path)

    def _merge_into_child_object(
        self, target: _MergedDict, key: str, value: Mapping[str, Any], path: tuple[str, ...]
    ) -> None:
        existing = target.get(key)
        if isinstance(existing, _MergedDict):
            self._merge_object(existing, value, path)
            return
        if existing is not None and not isinstance(existing, dict):
            raise MergeError(path, f"an earlier release had {_json_kind(existing)} here, this one an object")
        child = _MergedDict()
        self._merge_object(child, value, path)
        if child:
            target[key] = child

    def _merge_array(self, target: _MergedDict, key: str, items: list[dict[str, Any]], path: tuple[str, ...]) -> None:
        existing = target.get(key)
        if isinstance(existing, _MergedList):
            array = existing
        elif existing is None:
            array = _MergedList()
        else:
            raise MergeError(path, f"an earlier release had {_json_kind(existing)} here, this one an array of objects")
        for item in items:
            if "id" in item:
                identifier = _identifier(item["id"])
                merged = array.by_id.get(identifier)
                if merged is None:
                    merged = _MergedDict()
                    if item["id"] is not None:
                        merged["id"] = item["id"]
                    array.by_id[identifier] = merged
                    array.append(merged)
                first_spelling = merged.get("id")
                self._merge_object(merged, item, path)
                if first_spelling is not None:
                    merged["id"] = first_spelling  # an object keeps the id spelling it was created with
            else:
                merged = _MergedDict()
                self._merge_object(merged, item, path)
                if merged:
                    array.append(merged)
        if array and existing is None:
            target[key] = array


def _date_key(date: Any) -> str:
    return date if isinstance(date, str) else ""


def _plain(value: Any) -> Any:
    """Turn merged containers into plain dicts/lists, dropping fields set to null."""
    if isinstance(value, _MergedDict):
        return {key: _plain(child) for key, child in value.items() if child is not None}
    if isinstance(value, _MergedList):
        return [_plain(child) for child in value]
    return value


_DEFAULT_COMPILER: Compiler | None = None


def compile_releases(releases: Iterable[Mapping[str, Any]], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Compile releases with the OCDS 1.1 merge rules."""
    global _DEFAULT_COMPILER
    if _DEFAULT_COMPILER is None:
        _DEFAULT_COMPILER = Compiler()
    return _DEFAULT_COMPILER.compile(releases, base)
