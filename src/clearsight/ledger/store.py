"""Append-only logs (SQLite or PostgreSQL): leaves, stored subtree hashes, signed checkpoints, verification.

Every perfect subtree (level l, index i) covering leaves [i·2^l, (i+1)·2^l) is stored once complete
(level 0 is the leaf hash). An append adds the leaf and the subtrees it completes (amortised O(1), at most
O(log n)); the root of any size and any proof need only the O(log n) perfect subtrees along the tree's edges,
read in one query.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from clearsight.ledger import DEFAULT_LEDGER
from clearsight.ledger.database import Database, open_database
from clearsight.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    SubtreeHash,
    consistency_path,
    fold_right,
    inclusion_path,
    leaf_hash,
    perfect_subtrees,
    verify_consistency,
)
from clearsight.ledger.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    parse_note,
    sign_note,
)

_T = TypeVar("_T")
# A checkpoint's extension line (C2SP allows lines after the root) with a hash of every entry's type and append
# time up to its size: the Merkle tree covers the entries' bytes only, so without it an edit of that metadata would
# go unnoticed. Signed with the checkpoint like the root.
METADATA_LINE = "clearsight-metadata "


# Each entry's metadata line, "<index>\t<entry_type>\t<appended_at>\n", built by the database (a Python f-string per
# row cost full verification a quarter of its speed); the separators are parameters, written alike in both dialects.
METADATA_SQL = "CAST(idx AS TEXT) || ? || entry_type || ? || appended_at || ?"
METADATA_PARAMETERS = ["\t", "\t", "\n"]


class _MetadataHash:
    """The running hash of the entries' metadata lines, fed in chunks (one update per few thousand entries)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._lines: list[str] = []

    def add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= 8192:
            self._flush()

    def _flush(self) -> None:
        self._hash.update("".join(self._lines).encode())
        self._lines.clear()

    def digest(self) -> bytes:
        self._flush()
        return self._hash.digest()


class LedgerError(Exception):
    """A log operation was refused (unknown log, index out of range, inconsistent checkpoint, ...)."""


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes of a value: sorted keys, no insignificant white space, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class VerifyReport:
    """What a full verification of a log found."""

    log: str
    size: int
    root: bytes
    checkpoints_checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_leaf: int | None = None
    signatures_checked: bool = False  # whether the checkpoints' signatures were checked against the log's key

    @property
    def ok(self) -> bool:
        return not self.problems

    def _bad(self, index: int | None, problem: str) -> None:
        self.problems.append(problem)
        if index is not None and (self.first_bad_leaf is None or index < self.first_bad_leaf):
            self.first_bad_leaf = index


class Ledger:
    """A database holding any number of named logs: a SQLite file path, or a postgresql:// URL."""

    def __init__(self, location: str | Path = DEFAULT_LEDGER) -> None:
        self.path = str(location)
        self.db: Database = open_database(self.path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run SQL (with ? placeholders) against the ledger's database, e.g. for inspection."""
        return self.db.execute(sql, parameters)

    def log(self, name: str, origin: str | None = None, create: bool = True) -> Log:
        """The named log; created (with `origin`, default `clearsight/<name>`) when missing and `create`."""
        rows = self.db.execute("SELECT log_id, origin FROM ledger_logs WHERE name = ?", [name])
        if not rows:
            if not create:
                raise LedgerError(f"no log named {name!r} in {self.path}")
            origin = origin or f"clearsight/{name}"
            created = self.db.execute(
                "INSERT INTO ledger_logs (name, origin, created_at) VALUES (?, ?, ?) RETURNING log_id",
                [name, origin, _now()],
            )
            return Log(self, name, origin, int(created[0][0]))
        log_id, known_origin = rows[0]
        if origin is not None and origin != known_origin:
            raise LedgerError(f"log {name!r} has origin {known_origin!r}, not {origin!r}")
        return Log(self, name, str(known_origin), int(log_id))

    def logs(self) -> list[str]:
        return [str(row[0]) for row in self.db.execute("SELECT name FROM ledger_logs ORDER BY name")]

    # --- the logs' verifier keys, kept outside the database ----------------------------------------------
    @property
    def verifiers_file(self) -> Path | None:
        """Where each log's public key is recorded when it signs its first checkpoint: a file beside a SQLite
        ledger (someone who can rewrite the database, and re-sign with a key of their own, cannot also change
        what it is checked against without write access to this file). None for a database server."""
        return None if "://" in self.path else Path(f"{self.path}.verifiers.json")

    def known_verifier(self, log_name: str) -> Verifier | None:
        """The key the log's checkpoints were first signed with, when recorded."""
        file = self.verifiers_file
        if file is None or not file.exists():
            return None
        try:
            known = json.loads(file.read_text(encoding="utf-8")).get(log_name)
            return Verifier.decode(known) if known else None
        except (ValueError, NoteError) as error:
            raise LedgerError(f"{file}: unreadable verifier keys ({error})") from error

    def _record_verifier(self, log_name: str, verifier: Verifier) -> None:
        file = self.verifiers_file
        if file is None:
            return
        known = json.loads(file.read_text(encoding="utf-8")) if file.exists() else {}
        known[log_name] = verifier.encode()
        partial = file.with_name(file.name + ".new")
        partial.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(file)  # whole or not at all


class Log:
    """One append-only log."""

    def __init__(self, ledger: Ledger, name: str, origin: str, log_id: int) -> None:
        self.ledger = ledger
        self.name = name
        self.origin = origin
        self.log_id = log_id

    @property
    def _db(self) -> Database:
        return self.ledger.db

    # --- reading -------------------------------------------------------------------------------------
    def size(self) -> int:
        return int(self._db.execute("SELECT size FROM ledger_logs WHERE log_id = ?", [self.log_id])[0][0])

    def entry(self, index: int) -> bytes:
        rows = self._db.execute("SELECT entry FROM ledger_leaves WHERE log_id = ? AND idx = ?", [self.log_id, index])
        if not rows:
            raise LedgerError(f"log {self.name!r} has no entry {index}")
        return bytes(rows[0][0])

    def _nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(wanted), 400):  # SQLite's parameter limit
            chunk = wanted[start : start + 400]
            values = ", ".join("(?, ?)" for _ in chunk)
            parameters: list[int] = []
            for level, index in chunk:
                parameters += [level, index]
            # The few wanted keys drive the join: one primary-key lookup each.
            rows = self._db.execute(
                f"WITH wanted(level, idx) AS (VALUES {values}) "
                "SELECT n.level, n.idx, n.hash FROM wanted JOIN ledger_nodes AS n "
                "ON n.log_id = ? AND n.level = wanted.level AND n.idx = wanted.idx",
                [*parameters, self.log_id],
            )
            found.update({(int(level), int(index)): bytes(digest) for level, index, digest in rows})
        missing = [key for key in wanted if key not in found]
        if missing:
            raise LedgerError(f"log {self.name!r} is missing stored subtree hashes {missing[:3]} (run verify)")
        return found

    def _with_subtrees(self, compute: Callable[[SubtreeHash], _T]) -> _T:
        """Run a proof computation twice: once to learn which subtrees it needs, once with them read."""
        needed: list[tuple[int, int]] = []

        def record(start: int, end: int) -> bytes:
            needed.extend(perfect_subtrees(start, end))
            return EMPTY_ROOT

        compute(record)
        nodes = self._nodes(needed)

        def subtree(start: int, end: int) -> bytes:
            return fold_right([nodes[key] for key in perfect_subtrees(start, end)])

        return compute(subtree)

    def _check_size(self, size: int | None) -> int:
        current = self.size()
        if size is None:
            return current
        if not 0 <= size <= current:
            raise LedgerError(f"log {self.name!r} has {current} entries; no tree of size {size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the tree of the first `size` entries (default: all)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._with_subtrees(lambda subtree: subtree(0, size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self._check_size(size)
        if not 0 <= index < size:
            raise LedgerError(f"entry {index} is not in the tree of size {size}")
        return self._with_subtrees(lambda subtree: inclusion_path(index, size, subtree))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self._check_size(new_size)
        if not 0 < old_size <= new_size:
            raise LedgerError(f"no consistency proof from size {old_size} to {new_size}: need 0 < old <= new")
        return self._with_subtrees(lambda subtree: consistency_path(old_size, new_size, subtree))

    # --- appending ----------------------------------------------------------------------------------
    def append(self, entries: Iterable[bytes], entry_type: str = "entry") -> range:
        """Append entries (bytes as given) in one transaction; return their indices."""
        db = self._db
        db.begin_write()
        try:
            start = self.size()
            edge = perfect_subtrees(0, start) if start else []
            known = self._nodes(edge)
            tree = CompactRange(start, [known[key] for key in edge])
            moment = _now()
            leaves: list[tuple[int, int, bytes, bytes, str, str]] = []
            nodes: list[tuple[int, int, int, bytes]] = []
            for entry in entries:
                digest = leaf_hash(entry)
                leaves.append((self.log_id, tree.size, digest, entry, entry_type, moment))
                nodes.extend((self.log_id, level, index, node) for level, index, node in tree.push(digest))
            size = tree.size
            db.executemany("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?)", leaves)
            db.executemany("INSERT INTO ledger_nodes VALUES (?, ?, ?, ?)", nodes)
            db.execute("UPDATE ledger_logs SET size = ? WHERE log_id = ?", [size, self.log_id])
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return range(start, size)

    def already_at_end(self, entries: Sequence[bytes]) -> int:
        """How many of `entries`, from the first, are already the log's last entries, in order and of the same
        bytes: what a run killed after its ledger write but before it could record that write has appended."""
        if not entries:
            return 0
        size = self.size()
        start = max(0, size - len(entries))
        tail = [
            bytes(row[0])
            for row in self._db.execute(
                "SELECT leaf_hash FROM ledger_leaves WHERE log_id = ? AND idx >= ? ORDER BY idx", [self.log_id, start]
            )
        ]
        wanted = [leaf_hash(entry) for entry in entries]
        for offset, digest in enumerate(tail):  # the longest run of entries that ends the log
            if digest == wanted[0] and tail[offset:] == wanted[: len(tail) - offset]:
                return len(tail) - offset
        return 0

    def append_missing(self, entries: Sequence[bytes], entry_type: str = "entry") -> range:
        """Append those of `entries` that are not already at the end of the log (see `already_at_end`): run again
        after a crash, a write that must reach the ledger exactly once does. Returns the indices appended."""
        present = self.already_at_end(entries)
        return self.append(entries[present:], entry_type)

    def append_json(self, values: Iterable[Any], entry_type: str = "json") -> range:
        """Append values as canonical JSON (sorted keys, compact), so anyone can recompute the leaf hash."""
        return self.append((canonical_json(value) for value in values), entry_type)

    # --- checkpoints --------------------------------------------------------------------------------
    def checkpoint(self, signer: Signer) -> str:
        """Sign the current tree head (C2SP checkpoint) and store it.

        Refuses when the tree no longer extends the last checkpoint the log signed: a log never signs two
        inconsistent views of its history.
        """
        if signer.name != self.origin:
            raise LedgerError(
                f"the key is named {signer.name!r} but log {self.name!r} has origin {self.origin!r}: a checkpoint "
                "is signed by a key named after its log's origin (clearsight ledger keygen ORIGIN)"
            )
        known = self.ledger.known_verifier(self.name)
        if known is not None and known.encode() != signer.verifier.encode():
            raise LedgerError(
                f"log {self.name!r} signs its checkpoints with key {known.key_id:08x}, not {signer.verifier.key_id:08x}"
            )
        size = self.size()
        root = self.root(size)
        previous = self.latest_checkpoint()
        if previous is not None:
            old_size, old_root, _ = previous
            if old_size > size:
                raise LedgerError(f"log {self.name!r} shrank from {old_size} to {size} entries; refusing to sign")
            if old_size and self.root(old_size) != old_root:
                raise LedgerError(
                    f"log {self.name!r}: the first {old_size} entries no longer hash to the root signed before; "
                    "refusing to sign an inconsistent checkpoint"
                )
            if old_size:
                verify_consistency(old_size, size, old_root, root, self.consistency_proof(old_size, size))
        metadata = _MetadataHash()
        self._db.begin_read()  # streaming needs a transaction (a server-side cursor on PostgreSQL)
        try:
            for (line,) in self._db.stream(
                f"SELECT {METADATA_SQL} FROM ledger_leaves WHERE log_id = ? AND idx < ? ORDER BY idx",
                [*METADATA_PARAMETERS, self.log_id, size],
            ):
                metadata.add(line)
        finally:
            self._db.commit()
        extension = METADATA_LINE + base64.b64encode(metadata.digest()).decode()
        note = sign_note(Checkpoint(self.origin, size, root, (extension,)).text(), [signer]).encode()
        self._db.execute(
            "INSERT INTO ledger_checkpoints VALUES (?, ?, ?, ?, ?) ON CONFLICT (log_id, size) DO UPDATE SET "
            "root = excluded.root, note = excluded.note, signed_at = excluded.signed_at",
            [self.log_id, size, root, note, _now()],
        )
        if known is None:
            self.ledger._record_verifier(self.name, signer.verifier)
        return note

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        rows = self._db.execute(
            "SELECT size, root, note FROM ledger_checkpoints WHERE log_id = ? ORDER BY size DESC LIMIT 1",
            [self.log_id],
        )
        return None if not rows else (int(rows[0][0]), bytes(rows[0][1]), str(rows[0][2]))

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        rows = self._db.execute(
            "SELECT size, root, note FROM ledger_checkpoints WHERE log_id = ? ORDER BY size", [self.log_id]
        )
        return [(int(size), bytes(root), str(note)) for size, root, note in rows]

    # --- full verification --------------------------------------------------------------------------
    def _level_streams(self) -> dict[int, Iterator[tuple[int, bytes]]]:
        streams: dict[int, Iterator[tuple[int, bytes]]] = {}

        def stream(level: int) -> Iterator[tuple[int, bytes]]:
            for index, digest in self._db.stream(
                "SELECT idx, hash FROM ledger_nodes WHERE log_id = ? AND level = ? ORDER BY idx", [self.log_id, level]
            ):
                yield int(index), bytes(digest)

        for level in range(65):
            streams[level] = stream(level)
        return streams

    def verify(self, verifier: Verifier | None = None, signatures: bool = True) -> VerifyReport:
        """Re-derive the whole tree from the stored entries and check it against stored hashes and checkpoints.

        Finds modified entries (entry ≠ its leaf hash), deleted, reordered or truncated rows (stored subtree
        hashes and checkpoint roots no longer match), and checkpoints that are forged, from another log or
        inconsistent with one another. `first_bad_leaf` points at the earliest entry involved.

        Signatures are checked by default, against `verifier` or else the key recorded when the log signed its
        first checkpoint; a log with checkpoints and no known key fails (`signatures=False` skips the check, and
        the report says so).
        """
        if signatures and verifier is None:
            verifier = self.ledger.known_verifier(self.name)
        self._db.begin_read()  # one consistent view of the log for the whole scan
        try:
            report = self._verify(verifier if signatures else None)
        finally:
            self._db.commit()
        report.signatures_checked = signatures and verifier is not None
        if signatures and verifier is None and report.checkpoints_checked:
            report._bad(
                None,
                f"the checkpoints' signatures cannot be checked: no key is known for log {self.name!r} "
                "(give the log's verifier key, or skip the check explicitly)",
            )
        return report

    def _verify(self, verifier: Verifier | None) -> VerifyReport:
        size = self.size()
        checkpoints = self.checkpoints()
        pending = {checkpoint_size: (root, note) for checkpoint_size, root, note in checkpoints}
        report = VerifyReport(self.name, size, EMPTY_ROOT)
        for checkpoint_size, _, note in checkpoints:
            self._check_note(report, checkpoint_size, note, verifier)
        streams = self._level_streams()
        heads: dict[int, tuple[int, bytes]] = {}
        exhausted = (1 << 62, b"")

        def stored(level: int, index: int) -> bytes | None:
            # Each level's stored hashes are read in index order, as the recomputation produces them.
            head = heads.get(level)
            while head is None or head[0] < index:
                head = next(streams[level], exhausted)
            heads[level] = head
            return head[1] if head[0] == index else None

        tree = CompactRange()
        bad_subtrees: list[tuple[int, int]] = []  # leaf ranges under stored subtree hashes that differ
        expected = 0
        rows = self._db.stream(
            f"SELECT idx, leaf_hash, entry, {METADATA_SQL} FROM ledger_leaves WHERE log_id = ? ORDER BY idx",
            [*METADATA_PARAMETERS, self.log_id],
        )
        metadata = _MetadataHash()
        last_good = 0  # the largest checkpoint size the entries still match: damage lies beyond it
        for index, stored_leaf, entry, metadata_line in rows:
            if index != expected:
                report._bad(expected, f"entries {expected}..{index - 1} are missing (deleted rows)")
                break
            metadata.add(metadata_line)
            digest = leaf_hash(bytes(entry))
            if digest != bytes(stored_leaf):
                report._bad(index, f"entry {index} does not hash to its stored leaf hash (modified)")
            expected += 1
            for level, node_index, node in tree.push(digest):
                if stored(level, node_index) == node:
                    continue
                if level == 0:
                    report._bad(
                        index, f"entry {index} does not match the tree's stored leaf {index} (modified or moved)"
                    )
                else:
                    report.problems.append(f"subtree ({level}, {node_index}) differs from its stored hash")
                    bad_subtrees.append((node_index << level, (node_index + 1) << level))
            if expected in pending:
                signed = pending.pop(expected)
                matched = self._check_root(report, expected, tree.root(), signed, last_good)
                matched = self._check_metadata(report, expected, metadata.digest(), signed[1], last_good) and matched
                if matched and report.first_bad_leaf is None:
                    last_good = expected
        bad_leaves = report.first_bad_leaf
        for start, end in bad_subtrees:
            # A differing subtree points at its first leaf only when no leaf inside it was found bad.
            if bad_leaves is None or not start <= bad_leaves < end:
                report._bad(start, "")
        report.problems = [problem for problem in report.problems if problem]
        if expected < size:
            report._bad(expected, f"the log records {size} entries but only {expected} are stored (truncated)")
        elif expected > size:
            report._bad(size, f"the log records {size} entries but {expected} are stored (its size was lowered)")
        for checkpoint_size in sorted(pending):
            report._bad(
                min(checkpoint_size, expected),
                f"checkpoint of size {checkpoint_size} but only {expected} entries are stored (truncated)",
            )
        report.root = tree.root()
        return report

    def _check_note(self, report: VerifyReport, size: int, note: str, verifier: Verifier | None) -> None:
        report.checkpoints_checked += 1
        try:
            if verifier is not None:
                checkpoint, _ = open_checkpoint(note, verifier, self.origin)
            else:
                checkpoint = Checkpoint.parse(parse_note(note).text)
                if checkpoint.origin != self.origin:
                    raise NoteError(f"checkpoint is for {checkpoint.origin!r}, not {self.origin!r}")
        except NoteError as error:
            report._bad(None, f"checkpoint of size {size}: {error}")
            return
        if checkpoint.size != size:
            report._bad(None, f"checkpoint stored as size {size} says size {checkpoint.size}")

    def _check_root(
        self, report: VerifyReport, size: int, root: bytes, signed: tuple[bytes, str], last_good: int
    ) -> bool:
        """Whether the entries still hash to the checkpoint's root. When not, and no entry was pinned down, the
        damage lies after the largest checkpoint that still matched: that entry is named as the first bad one."""
        stored_root, note = signed
        try:
            text_root = Checkpoint.parse(note.split("\n\n")[0] + "\n").root
        except NoteError:
            text_root = stored_root
        if root != stored_root or root != text_root:
            report._bad(
                last_good if report.first_bad_leaf is None else None,
                f"the first {size} entries no longer hash to the root of the checkpoint of size {size}: an entry "
                f"from {last_good} to {size - 1} was changed, removed or inserted (and the stored hashes rebuilt)",
            )
            return False
        return True

    def _check_metadata(self, report: VerifyReport, size: int, digest: bytes, note: str, last_good: int) -> bool:
        """Whether the entries' types and append times up to `size` are those the checkpoint signed (checkpoints
        made before the metadata line existed carry none, and are not checked for it)."""
        try:
            extensions = Checkpoint.parse(note.split("\n\n")[0] + "\n").extensions
        except NoteError:
            return True  # reported by the note check
        signed = [line.removeprefix(METADATA_LINE) for line in extensions if line.startswith(METADATA_LINE)]
        if signed and signed[0] != base64.b64encode(digest).decode():
            report._bad(
                last_good if report.first_bad_leaf is None else None,
                f"an entry's type or append time from entry {last_good} to {size - 1} differs from what the "
                f"checkpoint of size {size} signed",
            )
            return False
        return True


def entries_from_lines(lines: Iterable[bytes]) -> Iterator[bytes]:
    """JSON Lines input for `ledger append`: each non-empty line's bytes, as given (without the newline)."""
    for line in lines:
        stripped = line.rstrip(b"\r\n")
        if stripped.strip():
            yield stripped


def proof_to_json(proof: Sequence[bytes]) -> list[str]:
    import base64

    return [base64.b64encode(item).decode() for item in proof]


class BackgroundAppender:
    """Appends to one log from a thread of its own, in the order given, while the caller goes on (a bulk load
    hashes and stores batch n while the warehouse loads batch n+1).

    The ledger is opened in that thread and used only there. `append` waits only while an earlier batch is still
    being written; the first error is raised by the next `append` or by `close`, and nothing is appended after it.
    """

    def __init__(self, location: str | Path, log_name: str, entry_type: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        self._entry_type = entry_type
        self._ledger: Ledger | None = None
        self._log: Log | None = None

        def open_log() -> int:
            self._ledger = Ledger(location)
            self._log = self._ledger.log(log_name)
            return self._log.size()

        self._pending: Future[Any] = self._pool.submit(open_log)
        self.first = int(self._pending.result())
        self.appended = 0

    def _write(self, entries: list[bytes]) -> None:
        assert self._log is not None
        appended = self._log.append(entries, self._entry_type)
        self.appended += len(appended)

    def append(self, entries: list[bytes]) -> None:
        self._pending.result()  # the previous batch is written (or its error raised) before this one is queued
        self._pending = self._pool.submit(self._write, entries)

    def close(self) -> None:
        try:
            self._pending.result()
        finally:
            self._pool.submit(lambda: self._ledger.close() if self._ledger else None).result()
            self._pool.shutdown()

    def __enter__(self) -> BackgroundAppender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
