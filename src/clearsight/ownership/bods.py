"""`clearsight ingest bods`: Beneficial Ownership Data Standard statements (0.2, 0.3 and 0.4) into canonical tables.

Input: JSON arrays of statements (the standard's shape), JSON Lines (one statement per line), or a package object
with a `statements` array; large arrays are streamed. Every statement read ends as exactly one of: stored (one row in
`ownership_statements`, and one in `ownership_entities` or `ownership_persons`, or one per interest in
`ownership_interests`), already stored (a statement id seen before in the dataset: counted, not stored twice), or
rejected into `ingest_rejects` with the file, its line or position, the JSON path and the reason.

The two shapes of the standard map onto one model:

- id: `statementID` before 0.4, `statementId` in 0.4;
- type: `statementType` (entityStatement, personStatement, ownershipOrControlStatement) before, `recordType`
  (entity, person, relationship) in 0.4;
- record: before 0.4 each statement is its own record and `replacesStatements` lists those it replaces; 0.4 has
  `recordId` and `recordStatus` (new, updated, closed);
- details: on the statement before, in `recordDetails` in 0.4;
- subject and interested party: statement ids in `subject.describedByEntityStatement` and
  `interestedParty.describedByPersonStatement` (or `…EntityStatement`) before, record ids in 0.4;
- political exposure: `hasPepStatus` and `pepStatusDetails` before, `politicalExposure.status` and `.details` in 0.4.

Which statements are current is a query (`current_statements_sql`), not a flag written at ingest: a statement loaded
later may replace one loaded earlier.

Statements are stored in batches (BATCH_STATEMENTS, never two files in one), each in one transaction: a run killed
midway leaves whole batches, and the re-run, finding their statements stored, stores what an uninterrupted run
stores. What the standard's JSON Schema would also check (codelists, formats) is not validated here;
the fields clearsight uses are, and a wrong one rejects its statement with the path.
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, cast

import ijson
import orjson
import pyarrow as pa

from clearsight.engine import Backend
from clearsight.engine.base import sql_literal
from clearsight.ingest.normalise import truncate
from clearsight.ingest.reader import DOCUMENT_IN_MEMORY_LIMIT, ChainedStream, detect
from clearsight.model import INGEST_REJECTS, OWNERSHIP_TABLES

OLD_TYPES = {
    "entityStatement": "entity",
    "personStatement": "person",
    "ownershipOrControlStatement": "relationship",
}
TYPES = ("entity", "person", "relationship")


class StatementError(ValueError):
    """A statement that cannot be loaded: the JSON path at fault and why."""

    def __init__(self, path: str, reason: str, value: Any = None) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason
        self.value = value


@dataclass
class BodsSummary:
    run_id: str
    dataset: str
    files: list[str] = field(default_factory=list)
    read: int = 0
    stored: Counter[str] = field(default_factory=Counter)
    already_stored: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "files": self.files,
            "statements_read": self.read,
            "stored": {kind: self.stored.get(kind, 0) for kind in TYPES},
            "already_stored": self.already_stored,
            "rejected": self.rejected,
            "reject_reasons": dict(sorted(self.reasons.items())),
            "bods_versions": dict(sorted(self.versions.items())),
        }


# Reading ------------------------------------------------------------------------------------------------------------


def read_values(stream: IO[bytes], name: str) -> Iterator[tuple[int, str, Any, str | None]]:
    """(line or position, JSON path, value, problem) for every statement of a file; value None when unreadable."""
    detected = detect(stream, name)
    if detected.format == "empty":
        yield 0, "", None, "empty file"
        return
    if detected.format == "json-lines":
        for number, line in enumerate(itertools.chain(detected.first, detected.rest), start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                yield number, "", truncate(line.strip().decode("utf-8", "replace")), f"invalid JSON: {error}"
                continue
            # A line may hold a whole (minified) array or package: its statements share the line number.
            for _, where, item, _ in _items(value):
                yield number, where, item, None
        return
    head = b"".join(detected.first) + detected.rest.read(DOCUMENT_IN_MEMORY_LIMIT + 1)
    if len(head) > DOCUMENT_IN_MEMORY_LIMIT:  # a large array: one statement at a time
        joined = io.BufferedReader(cast(io.RawIOBase, ChainedStream(head, detected.rest)))
        try:
            for position, value in enumerate(ijson.items(joined, "item", use_float=True), start=1):
                yield position, f"/{position - 1}", value, None
        except ijson.JSONError as error:
            yield 0, "", None, f"invalid JSON: {error}"
        return
    try:
        document = orjson.loads(head)
    except orjson.JSONDecodeError as error:
        yield 0, "", None, f"invalid JSON: {error}"
        return
    yield from _items(document)


def _items(document: Any) -> Iterator[tuple[int, str, Any, None]]:
    """The statements of a parsed document: an array's items, a package's `statements`, or the one statement."""
    if isinstance(document, dict) and isinstance(document.get("statements"), list):
        items, base = document["statements"], "/statements"
    elif isinstance(document, list):
        items, base = document, ""
    else:
        items, base = [document], None
    for position, value in enumerate(items, start=1):
        yield position, "" if base is None else f"{base}/{position - 1}", value, None


# Normalising --------------------------------------------------------------------------------------------------------


def _text(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise StatementError(path, "not a string", value)
    text = str(value).strip()
    return text or None


def _date(value: Any, path: str) -> date | None:
    """A date; a date-time keeps its date; year or year-month alone are not dates (birth dates are kept as text)."""
    text = _text(value, path)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(path, "not a date (YYYY-MM-DD)", value) from None


def _number(value: Any, path: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise StatementError(path, "not a number", value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise StatementError(path, "not a number", value) from None


def _object(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StatementError(path, "not an object", value)
    return value


def _array(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise StatementError(path, "not an array", value)
    return value


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def normalise(statement: Any, path: str = "") -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """(type, the statement's row, its detail rows) of one statement of any version; StatementError if it cannot
    be loaded."""
    if not isinstance(statement, dict):
        raise StatementError(path, "a statement is a JSON object", statement)
    new = "statementId" in statement or "recordType" in statement
    statement_id = _text(statement.get("statementId" if new else "statementID"), f"{path}/statementId")
    if statement_id is None:
        raise StatementError(f"{path}/{'statementId' if new else 'statementID'}", "no statement id")
    if new:
        kind = statement.get("recordType")
        if kind not in TYPES:
            raise StatementError(f"{path}/recordType", f"recordType is not one of {', '.join(TYPES)}", kind)
        details = _object(statement.get("recordDetails"), f"{path}/recordDetails")
        details_path = f"{path}/recordDetails"
        record_id = _text(statement.get("recordId"), f"{path}/recordId")
        if record_id is None:
            raise StatementError(f"{path}/recordId", "no recordId")
        publication = _object(statement.get("publicationDetails"), f"{path}/publicationDetails")
        version = _text(publication.get("bodsVersion"), f"{path}/publicationDetails/bodsVersion") or "0.4"
    else:
        old = statement.get("statementType")
        if old not in OLD_TYPES:
            raise StatementError(f"{path}/statementType", f"statementType is not one of {', '.join(OLD_TYPES)}", old)
        kind, details, details_path, record_id = OLD_TYPES[old], statement, path, statement_id
        publication = _object(statement.get("publicationDetails"), f"{path}/publicationDetails")
        version = _text(publication.get("bodsVersion"), f"{path}/publicationDetails/bodsVersion") or "0.2/0.3"
    row = {
        "statement_id": statement_id,
        "record_id": record_id,
        "statement_type": kind,
        "bods_version": version,
        "statement_date": _date(statement.get("statementDate"), f"{path}/statementDate"),
        "publication_date": _date(publication.get("publicationDate"), f"{path}/publicationDetails/publicationDate"),
        "record_status": _text(statement.get("recordStatus"), f"{path}/recordStatus") if new else None,
        "replaces": [
            _text(item, f"{path}/replacesStatements/{index}")
            for index, item in enumerate(_array(statement.get("replacesStatements"), f"{path}/replacesStatements"))
        ],
        "declaration_subject": _text(statement.get("declarationSubject"), f"{path}/declarationSubject"),
        "source": _json(statement.get("source")),
        "statement": orjson.dumps(statement, option=orjson.OPT_SORT_KEYS).decode(),
    }
    keys = {"statement_id": statement_id, "record_id": record_id}
    if kind == "entity":
        return kind, row, [{**keys, **_entity(details, details_path, new)}]
    if kind == "person":
        return kind, row, [{**keys, **_person(details, details_path, new)}]
    return kind, row, [{**keys, **interest} for interest in _interests(details, details_path, new)]


def identifier_key(scheme: str, value: str) -> str:
    """'SCHEME-id', the scheme in upper case; a Companies House number (GB-COH) in upper case with its leading
    zeros (eight characters), as the register writes it and publishers often do not. The same rule is written in
    SQL for OCDS parties (R032)."""
    scheme, value = scheme.strip().upper(), value.strip()
    if scheme == "GB-COH":
        value = value.upper().rjust(8, "0")
    return f"{scheme}-{value}"


def _entity(details: dict[str, Any], path: str, new: bool) -> dict[str, Any]:
    entity_type = details.get("entityType")
    if new:
        entity_type = _object(entity_type, f"{path}/entityType").get("type")
    jurisdiction = _object(
        details.get("jurisdiction" if new else "incorporatedInJurisdiction"),
        f"{path}/{'jurisdiction' if new else 'incorporatedInJurisdiction'}",
    )
    identifiers = _array(details.get("identifiers"), f"{path}/identifiers")
    keys = []
    for index, identifier in enumerate(identifiers):
        identifier = _object(identifier, f"{path}/identifiers/{index}")
        scheme = _text(identifier.get("scheme"), f"{path}/identifiers/{index}/scheme")
        value = _text(identifier.get("id"), f"{path}/identifiers/{index}/id")
        if scheme and value:
            keys.append(identifier_key(scheme, value))
    return {
        "name": _text(details.get("name"), f"{path}/name"),
        "entity_type": _text(entity_type, f"{path}/entityType"),
        "jurisdiction": _text(jurisdiction.get("code"), f"{path}/jurisdiction/code"),
        "founding_date": _date(details.get("foundingDate"), f"{path}/foundingDate"),
        "dissolution_date": _date(details.get("dissolutionDate"), f"{path}/dissolutionDate"),
        "identifier_keys": keys,
        "identifiers": _json(identifiers or None),
        "addresses": _json(details.get("addresses")),
    }


def _person(details: dict[str, Any], path: str, new: bool) -> dict[str, Any]:
    name = None
    for index, item in enumerate(_array(details.get("names"), f"{path}/names")):
        item = _object(item, f"{path}/names/{index}")
        name = _text(item.get("fullName"), f"{path}/names/{index}/fullName") or " ".join(
            part
            for part in (
                _text(item.get("givenName"), f"{path}/names/{index}/givenName"),
                _text(item.get("familyName"), f"{path}/names/{index}/familyName"),
            )
            if part
        )
        if name:
            break
    nationalities = []
    for index, item in enumerate(_array(details.get("nationalities"), f"{path}/nationalities")):
        code = _text(_object(item, f"{path}/nationalities/{index}").get("code"), f"{path}/nationalities/{index}/code")
        if code:
            nationalities.append(code)
    if new:
        exposure = _object(details.get("politicalExposure"), f"{path}/politicalExposure")
        status = exposure.get("status")
        pep = {"isPep": True, "isNotPep": False}.get(status) if isinstance(status, str) else None
        pep_details = exposure.get("details")
    else:
        has = details.get("hasPepStatus")
        if has is not None and not isinstance(has, bool):
            raise StatementError(f"{path}/hasPepStatus", "not true or false", has)
        pep, pep_details = has, details.get("pepStatusDetails")
    return {
        "person_type": _text(details.get("personType"), f"{path}/personType"),
        "name": name or None,
        "birth_date": _text(details.get("birthDate"), f"{path}/birthDate"),
        "nationalities": nationalities,
        "pep": pep,
        "pep_details": _json(pep_details),
        "identifiers": _json(details.get("identifiers")),
        "addresses": _json(details.get("addresses")),
    }


def _party(value: Any, path: str, new: bool) -> tuple[str | None, str | None]:
    """(record id, unspecified reason) of a subject or interested party."""
    if new and isinstance(value, str):
        return _text(value, path), None
    party = _object(value, path)
    if not new:
        for key in ("describedByEntityStatement", "describedByPersonStatement"):
            if party.get(key) is not None:
                return _text(party[key], f"{path}/{key}"), None
        unspecified = _object(party.get("unspecified"), f"{path}/unspecified")
        reason = unspecified.get("reason")
    else:
        reason = party.get("reason")
    if reason is None:
        raise StatementError(path, "neither a statement reference nor an unspecified reason", value)
    return None, _text(reason, f"{path}/reason")


def _interests(details: dict[str, Any], path: str, new: bool) -> list[dict[str, Any]]:
    subject = None
    if details.get("subject") not in (None, {}, ""):
        subject, _ = _party(details.get("subject"), f"{path}/subject", new)
    if subject is None:
        raise StatementError(f"{path}/subject", "a relationship without its subject")
    party, reason = _party(details.get("interestedParty"), f"{path}/interestedParty", new)
    rows = []
    interests = _array(details.get("interests"), f"{path}/interests")
    for index, interest in enumerate(interests or [None]):
        where = f"{path}/interests/{index}"
        item = _object(interest, where)
        share = _object(item.get("share"), f"{where}/share")
        beneficial = item.get("beneficialOwnershipOrControl")
        if beneficial is not None and not isinstance(beneficial, bool):
            raise StatementError(f"{where}/beneficialOwnershipOrControl", "not true or false", beneficial)
        rows.append(
            {
                "interest_position": index + 1 if interests else 0,
                "subject": subject,
                "interested_party": party,
                "unspecified_reason": reason,
                "interest_type": _text(item.get("type"), f"{where}/type"),
                "direct_or_indirect": _text(item.get("directOrIndirect"), f"{where}/directOrIndirect"),
                "beneficial": beneficial,
                "share_exact": _number(share.get("exact"), f"{where}/share/exact"),
                "share_minimum": _number(share.get("minimum"), f"{where}/share/minimum"),
                "share_maximum": _number(share.get("maximum"), f"{where}/share/maximum"),
                "start_date": _date(item.get("startDate"), f"{where}/startDate"),
                "end_date": _date(item.get("endDate"), f"{where}/endDate"),
                "details": _text(item.get("details"), f"{where}/details"),
            }
        )
    return rows


# Loading ------------------------------------------------------------------------------------------------------------

DETAIL_TABLE = {"entity": "ownership_entities", "person": "ownership_persons", "relationship": "ownership_interests"}


def ingest_bods(backend: Backend, paths: list[Path], dataset: str, ledger_log: str | None = None) -> BodsSummary:
    """Load BODS files into a dataset, streaming: each batch of BATCH_STATEMENTS statements (at most one file's)
    in one transaction.

    With `ledger_log`, the first transaction that stores statements also records that the ledger's log is owed
    every statement the run stores (`clearsight.engine.pending`); the caller appends them (each statement as
    published, in load order) and clears the record. A run killed in between leaves it for the next run."""
    from clearsight.engine import pending

    backend.ensure_tables((*OWNERSHIP_TABLES, INGEST_REJECTS))
    if ledger_log is not None:
        pending.ensure(backend)  # created before the transactions: DDL stays out of them
    summary = BodsSummary(f"bods-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", dataset)
    known = {
        row[0] for row in backend.query("SELECT statement_id FROM ownership_statements WHERE dataset = ?", [dataset])
    }
    state = {"owed": False, "load_order": 0}
    for path in paths:
        summary.files.append(str(path))
        # A reject already recorded for this place of this file (by an earlier or killed run) is not recorded again.
        recorded = {
            tuple(row)
            for row in backend.query(
                "SELECT line, path, reason FROM ingest_rejects WHERE dataset = ? AND file = ?", [dataset, str(path)]
            )
        }
        batch = _Batch()
        with open(path, "rb") as stream:
            for position, where, value, problem in read_values(stream, str(path)):
                summary.read += 1
                if problem is not None:
                    batch.reject(summary, recorded, path, position, where, value, problem)
                    continue
                try:
                    kind, row, rows = normalise(value, where)
                except StatementError as error:
                    batch.reject(summary, recorded, path, position, error.path, error.value, error.reason)
                    continue
                if row["statement_id"] in known:
                    summary.already_stored += 1
                    continue
                known.add(row["statement_id"])
                state["load_order"] += 1
                batch.statements.append(
                    {**row, "file": str(path), "position": position, "load_order": state["load_order"]}
                )
                batch.details[kind] += rows
                summary.versions[row["bods_version"]] += 1
                if len(batch.statements) >= BATCH_STATEMENTS:
                    _store(backend, summary, batch, ledger_log, state)
                    batch = _Batch()
        _store(backend, summary, batch, ledger_log, state)
    return summary


BATCH_STATEMENTS = 10_000  # statements held in memory, and stored in one transaction


@dataclass
class _Batch:
    statements: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {kind: [] for kind in TYPES})
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def reject(
        self, summary: BodsSummary, recorded: set[tuple[Any, ...]], path: Path, position: int, where: str,
        value: Any, reason: str,
    ) -> None:  # fmt: skip
        summary.rejected += 1
        summary.reasons[reason] += 1
        if (position, where, reason) in recorded:
            return
        shown = value if isinstance(value, str) or value is None else orjson.dumps(value).decode()
        self.rejects.append(
            {
                "file": str(path),
                "line": position,
                "ocid": None,
                "path": where,
                "value": None if shown is None else truncate(shown),
                "reason": reason,
            }
        )


def _store(
    backend: Backend, summary: BodsSummary, batch: _Batch, ledger_log: str | None, state: dict[str, Any]
) -> None:
    """One batch in one transaction: its statements, their details, its rejects and (the first time the run stores
    statements) the record that the ledger is owed the run's statements."""
    from clearsight.engine import pending
    from clearsight.model import TABLES_BY_NAME

    dataset = summary.dataset
    with backend.transaction():
        _append(backend, TABLES_BY_NAME["ownership_statements"].column_names, "ownership_statements",
                [{"dataset": dataset, "run_id": summary.run_id, **row} for row in batch.statements])  # fmt: skip
        for kind, rows in batch.details.items():
            table = DETAIL_TABLE[kind]
            _append(backend, TABLES_BY_NAME[table].column_names, table, [{"dataset": dataset, **r} for r in rows])
        _append(backend, INGEST_REJECTS.column_names, "ingest_rejects",
                [{"run_id": summary.run_id, "dataset": dataset, **reject} for reject in batch.rejects])  # fmt: skip
        if ledger_log is not None and batch.statements and not state["owed"]:
            # Owed with the first statements the run stores: at settle time, every statement the run stored
            # (pending.entries reads them back in load order).
            pending.owe(backend, ledger_log, "bods_statements", summary.run_id)
            state["owed"] = True
    for row in batch.statements:
        summary.stored[row["statement_type"]] += 1


def _append(backend: Backend, columns: list[str], table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        from clearsight.model import TABLES_BY_NAME

        schema = _arrow_schema(TABLES_BY_NAME[table])
        data = pa.Table.from_pylist([{name: row.get(name) for name in columns} for row in rows], schema=schema)
        backend.append_arrow(table, data)


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "JSON": pa.string(),
    "VARCHAR[]": pa.list_(pa.string()),
}


def _arrow_schema(table: Any) -> pa.Schema:
    return pa.schema([(column.name, _ARROW_TYPES[column.type]) for column in table.columns])


def current_statements_sql(dataset: str) -> str:
    """The statements in force in a dataset: not replaced by another's replacesStatements (before 0.4), and the
    latest statement of their record (0.4: by statement date, then by load order) unless that one closed it."""
    d = sql_literal(dataset)
    return f"""(
        SELECT s.* FROM (
            SELECT *, row_number() OVER (
                PARTITION BY record_id
                ORDER BY statement_date DESC NULLS LAST, publication_date DESC NULLS LAST, run_id DESC, position DESC
            ) AS latest
            FROM ownership_statements WHERE dataset = {d}
        ) AS s
        WHERE s.latest = 1 AND coalesce(s.record_status, '') <> 'closed'
          AND s.statement_id NOT IN (
              SELECT unnest(replaces) FROM ownership_statements WHERE dataset = {d} AND replaces IS NOT NULL
          )
    )"""
