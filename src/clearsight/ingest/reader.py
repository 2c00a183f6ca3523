"""Split an input stream into JSON values and classify them into releases, compiled releases and records.

Every value read ends as exactly one of: a unit (a release to store), a reject (with file, line, path and
reason) or a blank line. Formats: JSON Lines (one value per line) and whole JSON documents (pretty-printed
packages, arrays, single releases), detected from the content rather than the file name.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import RawIOBase
from typing import IO, Any, cast

import ijson
import orjson

from clearsight.ingest.normalise import truncate
from clearsight.ingest.sources import as_utf8

DOCUMENT_IN_MEMORY_LIMIT = 256 * 1024 * 1024  # larger JSON documents are streamed with ijson
MAX_LINE_BYTES = 1024 * 1024 * 1024


@dataclass(slots=True)
class Unit:
    """A release, compiled release or record's compiled release, ready to be stored."""

    kind: str  # release | compiled | record
    ocid: str
    release_id: str | None
    date: str | None
    data: bytes  # the JSON text
    line: int
    path: str
    parsed: dict[str, Any] | None = None  # the parsed release, kept for compiled releases (fast path)


@dataclass(slots=True)
class Reject:
    line: int
    path: str
    reason: str
    value: str = ""
    ocid: str | None = None
    file: str | None = None  # when not the file being read: the stored release a process failed on


@dataclass(slots=True)
class Blank:
    line: int


Outcome = Unit | Reject | Blank


def _release_unit(
    value: Any, line: int, path: str, raw: bytes | None, kind: str | None = None, compiled: bool = False
) -> Outcome:
    if type(value) is not dict:
        return Reject(line, path, "release is not a JSON object", truncate(value))
    ocid = value.get("ocid")
    if ocid is None:
        return Reject(line, path + "/ocid", "missing ocid", "")
    if type(ocid) is not str:
        return Reject(line, path + "/ocid", "ocid is not a string", truncate(ocid))
    if not ocid.strip():
        return Reject(line, path + "/ocid", "ocid is empty", ocid)
    tag = value.get("tag")
    if kind is None:
        # Compiled releases are tagged "compiled"; `compiled=True` says so for a whole input whose publisher
        # (or tool, e.g. Cardinal's fixtures) left the tag out.
        kind = "compiled" if compiled or (type(tag) is list and "compiled" in tag) else "release"
    date = value.get("date")
    if kind == "release" and type(date) is not str:
        reason = "missing release date (needed to order releases)" if date is None else "release date is not a string"
        return Reject(line, path + "/date", reason, truncate(date) if date is not None else "", ocid)
    release_id = value.get("id")
    data = raw if raw is not None else orjson.dumps(value)
    return Unit(
        kind,
        ocid,
        None if release_id is None else str(release_id),
        date if type(date) is str else None,
        data,
        line,
        path,
        value if kind == "compiled" else None,
    )


def _record_units(record: Any, line: int, path: str) -> Iterator[Outcome]:
    if type(record) is not dict:
        yield Reject(line, path, "record is not a JSON object", truncate(record))
        return
    ocid = record.get("ocid")
    compiled = record.get("compiledRelease")
    releases = record.get("releases")
    embedded = [
        (index, release)
        for index, release in enumerate(releases if type(releases) is list else [])
        if type(release) is dict and not (set(release) <= {"url", "date", "tag"})
    ]
    if compiled is not None:
        if type(compiled) is dict and "ocid" not in compiled and type(ocid) is str:
            compiled = {**compiled, "ocid": ocid}
        yield _release_unit(compiled, line, path + "/compiledRelease", None, kind="record")
    for index, release in embedded:
        if type(release) is dict and "ocid" not in release and type(ocid) is str:
            release = {**release, "ocid": ocid}
        unit = _release_unit(release, line, f"{path}/releases/{index}", None, kind="release")
        if compiled is None or isinstance(unit, Unit):
            yield unit
    if compiled is None and not embedded:
        reason = (
            "record has no compiledRelease and only linked releases (url), which cannot be compiled"
            if releases
            else "record has neither compiledRelease nor releases"
        )
        yield Reject(
            line, path, reason, truncate(ocid) if ocid is not None else "", ocid if type(ocid) is str else None
        )


def classify(
    value: Any, line: int, path: str = "", raw: bytes | None = None, compiled: bool = False
) -> Iterator[Outcome]:
    """Yield the units (or rejects) a parsed JSON value holds: packages, records, releases, arrays of them."""
    if type(value) is list:
        if not value:
            yield Reject(line, path, "empty array", "[]")
        for index, item in enumerate(value):
            yield from classify(item, line, f"{path}/{index}", compiled=compiled)
        return
    if type(value) is not dict:
        yield Reject(line, path, "not a JSON object", truncate(value))
        return
    if "records" in value and type(value["records"]) is list:
        if not value["records"]:
            yield Reject(line, path + "/records", "record package with no records", "[]")
        for index, record in enumerate(value["records"]):
            yield from _record_units(record, line, f"{path}/records/{index}")
    elif "releases" in value and type(value["releases"]) is list and "ocid" not in value:
        if not value["releases"]:
            yield Reject(line, path + "/releases", "release package with no releases", "[]")
        for index, release in enumerate(value["releases"]):
            yield _release_unit(release, line, f"{path}/releases/{index}", None, compiled=compiled)
    elif "compiledRelease" in value or ("releases" in value and "ocid" in value):
        yield from _record_units(value, line, path)
    elif not value:
        yield Reject(line, path, "empty object", "{}")
    else:
        yield _release_unit(value, line, path, raw, compiled=compiled)


_WITHIN_ONE_LINE = re.compile(r"line 1 column (\d+) \(char \d+\)")


def _parse_error(error: Exception, indent: int | None = None) -> str:
    """The parser's message; for a line of JSON Lines (`indent`: its leading white space), the position is given
    as a column of that line — the parser, given the line alone, would call every line "line 1"."""
    message = str(error)
    if indent is not None:
        message = _WITHIN_ONE_LINE.sub(lambda match: f"column {int(match[1]) + indent}", message)
    if "utf-8" in message.lower() or "surrogate" in message.lower():
        return f"invalid UTF-8: {message}"
    return f"invalid JSON: {message}"


def lines_outcomes(lines: Iterable[bytes], first_line: int = 1, compiled: bool = False) -> Iterator[Outcome]:
    """One outcome per line of JSON Lines (numbered from `first_line`)."""
    line_number = first_line - 1
    for line in lines:
        line_number += 1
        stripped = line.strip()
        if not stripped:
            yield Blank(line_number)
            continue
        if len(line) > MAX_LINE_BYTES:
            yield Reject(line_number, "", f"line longer than {MAX_LINE_BYTES} bytes", truncate(line[:200]))
            continue
        try:
            value = orjson.loads(stripped)
        except orjson.JSONDecodeError as error:
            indent = len(line) - len(line.lstrip())
            reason = _parse_error(error, indent)
            yield Reject(line_number, "", reason, truncate(stripped.decode("utf-8", "replace")))
            continue
        yield from classify(value, line_number, "", stripped if type(value) is dict else None, compiled)


def _stream_document(stream: IO[bytes], compiled: bool = False) -> Iterator[Outcome]:
    """Stream a large JSON document: package items are built one at a time (bounded memory)."""
    builders: dict[str, ijson.ObjectBuilder] = {}
    metadata: dict[str, Any] = {}
    counters = {"releases.item": 0, "records.item": 0, "item": 0}
    top_builder: ijson.ObjectBuilder | None = None
    depth = 0
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if depth == 0 and event == "start_array" and prefix == "":
                depth = 1
                continue
            if prefix in counters and event in ("start_map", "start_array") and prefix not in builders:
                builders[prefix] = ijson.ObjectBuilder()
            if prefix in builders or any(prefix.startswith(key + ".") for key in builders):
                owner = next(key for key in builders if prefix == key or prefix.startswith(key + "."))
                builders[owner].event(event, value)
                if prefix == owner and event in ("end_map", "end_array"):
                    item = builders.pop(owner).value
                    index = counters[owner]
                    counters[owner] += 1
                    base = {"releases.item": "/releases", "records.item": "/records", "item": ""}[owner]
                    if owner == "records.item":
                        yield from _record_units(item, index + 1, f"{base}/{index}")
                    elif owner == "releases.item":
                        yield _release_unit(item, index + 1, f"{base}/{index}", None, compiled=compiled)
                    else:
                        yield from classify(item, index + 1, f"/{index}", compiled=compiled)
                continue
            if prefix in ("releases", "records") and event in ("start_array", "end_array"):
                continue
            # Anything else is a single release or package metadata: build it as one object.
            if top_builder is None:
                top_builder = ijson.ObjectBuilder()
            top_builder.event(event, value)
    except ijson.JSONError as error:
        yield Reject(0, "", _parse_error(error), "")
        return
    if top_builder is not None:
        metadata = top_builder.value if isinstance(top_builder.value, dict) else {}
        if not any(counters.values()) and metadata:
            yield from classify(metadata, 1, "", compiled=compiled)


@dataclass
class ReadStats:
    format: str = "json-lines"


@dataclass
class Detected:
    """How a stream is laid out, and the lines already read to find out."""

    format: str  # json-lines | json-document | empty
    first: list[bytes]
    rest: IO[bytes]
    encoding: str = "utf-8"  # what the input was in (it is read as UTF-8 whatever it was)


def detect(stream: IO[bytes], name: str = "input") -> Detected:
    """Read up to the first non-blank line and decide: one JSON value per line, or one JSON document. A byte-order
    mark is skipped, and UTF-16 or UTF-32 input is read as UTF-8."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(cast(RawIOBase, stream), 1 << 20)
    readable, encoding = as_utf8(buffered, name)
    detected = _layout(readable)
    detected.encoding = encoding
    return detected


def _layout(buffered: IO[bytes]) -> Detected:
    first: list[bytes] = []
    for line in buffered:
        first.append(line)
        if line.strip():
            break
    if not first:
        return Detected("empty", first, buffered)
    head = first[-1].strip()
    if not head:
        return Detected("json-lines", first, buffered)  # only blank lines
    try:
        orjson.loads(head)
        return Detected("json-lines", first, buffered)
    except orjson.JSONDecodeError:
        # Not one value per line: a pretty-printed document (or JSON Lines with a broken first line).
        return Detected("json-document", first, buffered)


def read_outcomes(
    stream: IO[bytes], known_size: int | None, stats: ReadStats, compiled: bool = False
) -> Iterator[Outcome]:
    """Yield one outcome per value in a decompressed byte stream."""
    detected = detect(stream)
    stats.format = detected.format
    if detected.format == "empty":
        yield Reject(0, "", "empty file", "")
    elif detected.format == "json-lines":
        yield from lines_outcomes(itertools.chain(detected.first, detected.rest), compiled=compiled)
    else:
        yield from document_outcomes(detected, known_size, stats, compiled)


def document_outcomes(
    detected: Detected, known_size: int | None, stats: ReadStats, compiled: bool = False
) -> Iterator[Outcome]:
    """Outcomes of a whole-document input: parsed in memory when small, streamed with ijson when large."""
    head = b"".join(detected.first)
    if known_size is None or known_size <= DOCUMENT_IN_MEMORY_LIMIT:
        # The size on disk is no bound (a compressed file may hold a thousand times more): read at most the limit.
        head += detected.rest.read(max(0, DOCUMENT_IN_MEMORY_LIMIT + 1 - len(head)))
    if len(head) > DOCUMENT_IN_MEMORY_LIMIT or known_size is None or known_size > DOCUMENT_IN_MEMORY_LIMIT:
        chained = cast(RawIOBase, ChainedStream(head, detected.rest))
        yield from _stream_document(cast(IO[bytes], io.BufferedReader(chained)), compiled)
        return
    text = head
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        lines = text.splitlines(keepends=True)
        if _mostly_objects(lines):  # JSON Lines whose first line is broken
            stats.format = "json-lines"
            yield from lines_outcomes(lines, compiled=compiled)
        else:
            yield from _broken_document(text, error, compiled)
        return
    yield from classify(value, 1, "", compiled=compiled)


def _mostly_objects(lines: list[bytes], sample: int = 2_000) -> bool:
    """Whether at least half the (first `sample`) non-blank lines are each a JSON object: JSON Lines, not a
    pretty-printed document (whose lines are fragments)."""
    objects = seen = 0
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        seen += 1
        if stripped[:1] == b"{":
            with contextlib.suppress(orjson.JSONDecodeError):
                objects += isinstance(orjson.loads(stripped), dict)
        if seen >= sample:
            break
    return seen == 1 or 2 * objects >= seen  # one line: a broken line and a broken document are the same


def _broken_document(text: bytes, error: orjson.JSONDecodeError, compiled: bool) -> Iterator[Outcome]:
    """A document that does not parse: the items before the break are read (streamed), then one reject at the
    line and column where it breaks, saying that the rest of the file was not read."""
    kind = "invalid UTF-8 in JSON document" if "utf-8" in error.msg.lower() else "invalid JSON document"
    where = f"line {error.lineno} column {error.colno}"
    reason = f"{kind} at {where}: {error.msg}; the rest of the file from there was not read"
    for outcome in _stream_document(io.BytesIO(text), compiled):
        if isinstance(outcome, Reject) and outcome.line == 0 and outcome.reason.startswith("invalid"):
            break
        yield outcome
    context = text.splitlines()[error.lineno - 1] if error.lineno <= text.count(b"\n") + 1 else b""
    yield Reject(error.lineno, "", reason, truncate(context.decode("utf-8", "replace")))


class ChainedStream(io.RawIOBase):
    """Bytes already read followed by the rest of a stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size] = self.head[:size]
            self.head = self.head[size:]
            return size
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
