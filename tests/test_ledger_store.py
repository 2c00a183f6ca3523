"""Stored logs: appends, proofs from stored subtrees, checkpoints, cosignatures, and tampering detection."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.ledger import merkle
from clearsight.ledger.note import (
    COSIGNATURE_ED25519,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
    parse_note,
    sign_note,
    verify_witness_policy,
)
from clearsight.ledger.store import BackgroundAppender, Ledger, LedgerError, canonical_json
from tests.conftest import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The same tests on a SQLite file and on a real PostgreSQL server (a fresh schema per test)."""
    if request.param == "sqlite":
        with Ledger(tmp_path / "ledger.sqlite") as store:
            yield store
        return
    with postgres_schema() as url, Ledger(url) as store:
        yield store


def entries(count: int, start: int = 0) -> list[bytes]:
    return [f'{{"title":"T-{n}","owner":"person {n % 7}"}}'.encode() for n in range(start, start + count)]


def test_appends_in_batches_equal_one_by_one(ledger: Ledger) -> None:
    batched, single = ledger.log("batched"), ledger.log("single")
    data = entries(37)
    batched.append(data[:10])
    batched.append(data[10:])
    for entry in data:
        single.append([entry])
    expected = merkle.root_from_leaf_hashes([merkle.leaf_hash(entry) for entry in data])
    assert batched.root() == single.root() == expected
    assert batched.size() == 37 and batched.entry(5) == data[5]
    assert sorted(ledger.logs()) == ["batched", "single"]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 150))
def test_stored_proofs_match_recomputed_ones(tmp_path_factory: pytest.TempPathFactory, size: int) -> None:
    with Ledger(tmp_path_factory.mktemp("l") / "l.sqlite") as store:
        log = store.log("p")
        data = entries(size)
        log.append(data)
        hashes = [merkle.leaf_hash(entry) for entry in data]

        def subtree(start: int, end: int) -> bytes:
            return merkle.root_from_leaf_hashes(hashes[start:end])

        for index in {0, size // 2, size - 1}:
            assert log.inclusion_proof(index) == merkle.inclusion_path(index, size, subtree)
            merkle.verify_inclusion(index, size, hashes[index], log.inclusion_proof(index), log.root())
        for old in {1, (size + 1) // 2, size}:
            assert log.consistency_proof(old) == merkle.consistency_path(old, size, subtree)
            assert log.root(old) == merkle.root_from_leaf_hashes(hashes[:old])


def test_requests_out_of_range_are_refused(ledger: Ledger) -> None:
    log = ledger.log("r")
    log.append(entries(4))
    with pytest.raises(LedgerError):
        log.inclusion_proof(4)
    with pytest.raises(LedgerError):
        log.consistency_proof(0)
    with pytest.raises(LedgerError):
        log.root(5)
    with pytest.raises(LedgerError):
        ledger.log("missing", create=False)


def test_canonical_json_is_key_order_independent() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == canonical_json({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()


# --- notes, checkpoints, witnesses ---------------------------------------------------------------


def test_keys_round_trip_and_notes_verify() -> None:
    signer = Signer.generate("example.org/log")
    assert Signer.decode(signer.encode()) == signer
    assert Verifier.decode(signer.verifier.encode()) == signer.verifier
    note = sign_note("hello\n", [signer])
    parsed = parse_note(note.encode())
    assert parsed == note
    other = Signer.generate("example.org/log")
    with pytest.raises(NoteError):
        open_checkpoint(note.encode(), other.verifier)
    with pytest.raises(NoteError):
        Verifier.decode(signer.verifier.encode().replace("+", "+0", 1))


def test_checkpoint_format(ledger: Ledger) -> None:
    log = ledger.log("titles", origin="registry.example/titles")
    log.append(entries(5))
    signer = Signer.generate("registry.example/titles")
    note = log.checkpoint(signer)
    text, signature_line = note.split("\n\n")
    origin, size, root, metadata = text.split("\n")
    assert (origin, size) == ("registry.example/titles", "5")
    assert root == base64.b64encode(log.root()).decode()
    # An extension line (C2SP allows them after the root): the hash of the entries' types and append times.
    assert metadata.startswith("clearsight-metadata ") and len(base64.b64decode(metadata.split(" ")[1])) == 32
    assert signature_line.startswith("\u2014 registry.example/titles ")
    checkpoint, _ = open_checkpoint(note, signer.verifier, "registry.example/titles")
    assert checkpoint.size == 5 and checkpoint.root == log.root()


def test_witness_quorum(ledger: Ledger) -> None:
    log = ledger.log("w")
    log.append(entries(3))
    signer = Signer.generate("clearsight/w")
    witnesses = [Signer.generate(f"witness.example/{n}", COSIGNATURE_ED25519) for n in range(3)]
    note = parse_note(log.checkpoint(signer))
    cosigned = cosign(cosign(note, witnesses[0], 1_700_000_000), witnesses[2])
    verifiers = [witness.verifier for witness in witnesses]
    assert verify_witness_policy(cosigned, verifiers, 2) == ["witness.example/0", "witness.example/2"]
    with pytest.raises(NoteError, match="2 of the required 3"):
        verify_witness_policy(cosigned, verifiers, 3)
    # A witness's cosignature over another tree head is not valid for this one.
    forged = parse_note(cosigned.encode().replace(note.text, Checkpoint("clearsight/w", 4, b"\0" * 32).text()))
    with pytest.raises(NoteError):
        verify_witness_policy(forged, verifiers, 1)


def test_a_log_never_signs_a_checkpoint_inconsistent_with_an_earlier_one(ledger: Ledger) -> None:
    log = ledger.log("c")
    signer = Signer.generate("clearsight/c")
    log.append(entries(10))
    log.checkpoint(signer)
    log.append(entries(5, 10))
    log.checkpoint(signer)  # a consistent extension is fine
    # Rewrite history underneath (entry, leaf hash and stored subtrees), as an operator could.
    rewritten = entries(15)
    rewritten[3] = b'{"title":"T-3","owner":"someone else"}'
    _rewrite(ledger, "c", rewritten)
    with pytest.raises(LedgerError, match="inconsistent"):
        log.checkpoint(signer)


def _rewrite(ledger: Ledger, name: str, data: list[bytes]) -> None:
    """Replace a log's content wholesale, recomputing every stored hash (a careful forger)."""
    log_id = ledger.log(name).log_id
    ledger.execute("DELETE FROM ledger_leaves WHERE log_id = ?", [log_id])
    ledger.execute("DELETE FROM ledger_nodes WHERE log_id = ?", [log_id])
    ledger.execute("UPDATE ledger_logs SET size = 0 WHERE log_id = ?", [log_id])
    ledger.log(name).append(data)


# --- tampering -----------------------------------------------------------------------------------


@pytest.fixture
def signed_log(ledger: Ledger) -> tuple[Ledger, Signer]:
    log = ledger.log("t")
    signer = Signer.generate("clearsight/t")
    log.append(entries(64))
    log.checkpoint(signer)
    log.append(entries(36, 64))
    log.checkpoint(signer)
    assert log.verify(signer.verifier).ok
    return ledger, signer


def _sql(ledger: Ledger, statement: str, *parameters: object) -> None:
    ledger.execute(statement, parameters)


@pytest.mark.reliability(
    "attack",
    "an entry of the ledger's SQLite file rewritten",
    "verify fails naming that entry",
)
def test_modified_entry_is_pinpointed(signed_log: tuple[Ledger, Signer]) -> None:
    ledger, signer = signed_log
    _sql(ledger, "UPDATE ledger_leaves SET entry = ? WHERE idx = 41", b'{"title":"T-41","owner":"forger"}')
    report = ledger.log("t").verify(signer.verifier)
    assert not report.ok and report.first_bad_leaf == 41


@pytest.mark.reliability(
    "attack",
    "an entry rewritten together with its leaf hash",
    "verify fails naming that entry",
)
def test_modified_entry_with_its_leaf_hash_is_pinpointed(signed_log: tuple[Ledger, Signer]) -> None:
    ledger, signer = signed_log
    forged = b'{"title":"T-41","owner":"forger"}'
    _sql(ledger, "UPDATE ledger_leaves SET entry = ?, leaf_hash = ? WHERE idx = 41", forged, merkle.leaf_hash(forged))
    report = ledger.log("t").verify(signer.verifier)
    assert not report.ok and report.first_bad_leaf == 41
    assert any("checkpoint of size 64" in problem for problem in report.problems)


@pytest.mark.reliability(
    "attack",
    "an entry deleted",
    "verify fails naming the first missing entry",
)
def test_deleted_row_is_pinpointed(signed_log: tuple[Ledger, Signer]) -> None:
    ledger, signer = signed_log
    _sql(ledger, "DELETE FROM ledger_leaves WHERE idx = 17")
    report = ledger.log("t").verify(signer.verifier)
    assert not report.ok and report.first_bad_leaf == 17


@pytest.mark.reliability(
    "attack",
    "two entries swapped",
    "verify fails naming the first one out of place",
)
def test_reordered_rows_are_pinpointed(signed_log: tuple[Ledger, Signer]) -> None:
    ledger, signer = signed_log
    (entry_a, hash_a), (entry_b, hash_b) = ledger.execute(
        "SELECT entry, leaf_hash FROM ledger_leaves WHERE idx IN (70, 90) ORDER BY idx"
    )
    _sql(ledger, "UPDATE ledger_leaves SET entry = ?, leaf_hash = ? WHERE idx = 70", entry_b, hash_b)
    _sql(ledger, "UPDATE ledger_leaves SET entry = ?, leaf_hash = ? WHERE idx = 90", entry_a, hash_a)
    report = ledger.log("t").verify(signer.verifier)
    assert not report.ok and report.first_bad_leaf == 70


@pytest.mark.reliability(
    "attack",
    "the end of a log cut off",
    "verify fails: the log is shorter than its signed checkpoint",
)
def test_truncated_log_is_detected(signed_log: tuple[Ledger, Signer]) -> None:
    ledger, signer = signed_log
    _sql(ledger, "DELETE FROM ledger_leaves WHERE idx >= 80")
    report = ledger.log("t").verify(signer.verifier)
    assert not report.ok and report.first_bad_leaf == 80
    assert any("truncated" in problem for problem in report.problems)


@pytest.mark.reliability(
    "attack",
    "a checkpoint forged without the log's key",
    "verify fails on its signature",
)
def test_forged_checkpoint_is_detected(signed_log: tuple[Ledger, Signer]) -> None:
    ledger, signer = signed_log
    log = ledger.log("t")
    forger = Signer.generate("clearsight/t")  # same name, other key
    forged = sign_note(Checkpoint(log.origin, 100, b"\x07" * 32).text(), [forger]).encode()
    _sql(ledger, "UPDATE ledger_checkpoints SET note = ? WHERE size = 100", forged)
    report = log.verify(signer.verifier)
    assert not report.ok
    assert any("not signed by" in problem for problem in report.problems)


@pytest.mark.reliability(
    "attack",
    "a checkpoint copied from another log",
    "verify fails: origin and key do not match the log",
)
def test_checkpoint_from_another_log_is_detected(signed_log: tuple[Ledger, Signer]) -> None:
    ledger, signer = signed_log
    other = ledger.log("other")
    other.append(entries(100))
    foreign = other.checkpoint(Signer.generate("clearsight/other"))
    _sql(
        ledger,
        "UPDATE ledger_checkpoints SET note = ? WHERE size = 100 AND log_id = ?",
        foreign,
        ledger.log("t").log_id,
    )
    report = ledger.log("t").verify(signer.verifier)
    assert not report.ok
    report_without_signatures = ledger.log("t").verify(signatures=False)
    assert not report_without_signatures.signatures_checked
    assert any("not 'clearsight/t'" in problem for problem in report_without_signatures.problems)


@pytest.mark.reliability(
    "attack",
    "a history rewritten with every hash rebuilt and re-signed by the log's own key",
    "a third party holding an earlier checkpoint detects it by consistency proof",
)
def test_careful_forger_is_caught_by_a_third_party_holding_an_old_checkpoint(ledger: Ledger) -> None:
    log = ledger.log("land")
    signer = Signer.generate("clearsight/land")
    data = entries(50)
    log.append(data)
    held = log.checkpoint(signer)  # a third party keeps this note
    old, _ = open_checkpoint(held, signer.verifier)
    # The operator rewrites entry 12, recomputes every hash, appends more and signs a fresh checkpoint
    # (bypassing the log's own refusal by deleting its record of the earlier checkpoint).
    data[12] = b'{"title":"T-12","owner":"the operator"}'
    _rewrite(ledger, "land", data + entries(10, 50))
    _sql(ledger, "DELETE FROM ledger_checkpoints")
    new, _ = open_checkpoint(log.checkpoint(signer), signer.verifier)
    assert log.verify(signer.verifier).ok  # internally consistent again ...
    with pytest.raises(merkle.ProofError):  # ... but not with what the third party holds
        merkle.verify_consistency(old.size, new.size, old.root, new.root, log.consistency_proof(old.size))


def test_the_sqlite_file_is_plain_sqlite(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.log("x").append(entries(3))
    tables = {row[0] for row in sqlite3.connect(tmp_path / "l.sqlite").execute("SELECT name FROM sqlite_master")}
    assert {"ledger_logs", "ledger_leaves", "ledger_nodes", "ledger_checkpoints"} <= tables


def test_background_appender_writes_what_a_direct_append_writes(tmp_path: Path) -> None:
    batches = [[f"entry {batch}.{index}".encode() for index in range(batch * 7 + 1)] for batch in range(6)]
    with Ledger(tmp_path / "direct.sqlite") as direct:
        log = direct.log("registry-civil")
        for batch in batches:
            log.append(batch, "registry_civil")
        expected_root, expected_size = log.root(), log.size()
    with BackgroundAppender(tmp_path / "background.sqlite", "registry-civil", "registry_civil") as appender:
        assert appender.first == 0
        for batch in batches:
            appender.append(batch)
    assert appender.appended == expected_size
    with Ledger(tmp_path / "background.sqlite") as written:
        log = written.log("registry-civil")
        assert (log.root(), log.size()) == (expected_root, expected_size)
        assert [log.entry(index) for index in range(expected_size)] == [entry for batch in batches for entry in batch]
        assert log.verify().ok


def test_background_appender_raises_the_first_error_and_appends_nothing_after_it(tmp_path: Path) -> None:
    appender = BackgroundAppender(tmp_path / "ledger.sqlite", "log", "entry")
    appender.append([b"good"])
    appender.append(["not bytes"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        appender.append([b"after the error"])
    with pytest.raises(TypeError):
        appender.close()
    with Ledger(tmp_path / "ledger.sqlite") as written:
        assert written.log("log").size() == 1


@pytest.mark.reliability(
    "attack",
    "an entry rewritten, the tree rebuilt and re-signed with the attacker's own key",
    "`ledger verify` (signatures checked by default against the key stored at creation) fails",
)
def test_a_rebuilt_and_re_signed_database_fails_verify_without_a_verifier_given(tmp_path: Path) -> None:
    """Finding #9 of issue 15: someone who can write the SQLite file but has no key rewrites an entry, rebuilds
    every hash and re-signs with a key of their own. `verify` checks signatures by default, against the key
    recorded beside the ledger when the log first signed, which the database swap does not change."""
    real = tmp_path / "ledger.sqlite"
    owner = Signer.generate("clearsight/t")
    with Ledger(real) as ledger:
        log = ledger.log("t")
        log.append(entries(50))
        log.checkpoint(owner)
        assert log.verify().ok and log.verify().signatures_checked
    forged = tmp_path / "forged.sqlite"
    with Ledger(forged) as ledger:
        log = ledger.log("t")
        rewritten = entries(50)
        rewritten[7] = b'{"title":"T-7","owner":"forger"}'
        log.append(rewritten)
        log.checkpoint(Signer.generate("clearsight/t"))  # same name, the forger's key
    forged.replace(real)
    with Ledger(real) as ledger:
        report = ledger.log("t").verify()
        assert not report.ok and report.signatures_checked
        assert any("not signed by" in problem for problem in report.problems)
        unchecked = ledger.log("t").verify(signatures=False)
        assert unchecked.ok and not unchecked.signatures_checked  # the caller asked not to check: said so


def test_verify_fails_when_no_key_is_known_and_checkpoint_keys_are_tied_to_the_log(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    owner = Signer.generate("clearsight/t")
    with Ledger(path) as ledger:
        log = ledger.log("t")
        log.append(entries(10))
        with pytest.raises(LedgerError, match=r"named 'example\.org/other' but log 't' has origin 'clearsight/t'"):
            log.checkpoint(Signer.generate("example.org/other"))
        log.checkpoint(owner)
        with pytest.raises(LedgerError, match="signs its checkpoints with key"):
            log.checkpoint(Signer.generate("clearsight/t"))
        assert log.verify().ok
        Path(f"{path}.verifiers.json").unlink()
        report = log.verify()
        assert not report.ok and any("no key is known" in problem for problem in report.problems)
        assert log.verify(owner.verifier).ok


@pytest.mark.reliability(
    "attack",
    "edits of an entry's type or append time, or of the log's recorded size",
    "detected; located at the entry or the stretch between two checkpoints",
)
def test_edits_the_tree_does_not_cover_are_detected_and_located(signed_log: tuple[Ledger, Signer]) -> None:
    """Finding #16 of issue 15: an entry's type or time, the recorded size, and rewrites or deletions with the
    tree rebuilt around them. The log has checkpoints at 64 and 100 entries."""
    ledger, signer = signed_log
    log = ledger.log("t")
    kind = ledger.execute("SELECT entry_type FROM ledger_leaves WHERE idx = 70")[0][0]
    _sql(ledger, "UPDATE ledger_leaves SET entry_type = 'forged' WHERE idx = 70")
    report = log.verify(signer.verifier)
    assert not report.ok and report.first_bad_leaf == 64
    assert any("type or append time from entry 64 to 99" in problem for problem in report.problems)
    _sql(ledger, "UPDATE ledger_leaves SET entry_type = ? WHERE idx = 70", kind)
    assert log.verify(signer.verifier).ok
    _sql(ledger, "UPDATE ledger_leaves SET appended_at = '2000-01-01T00:00:00+00:00' WHERE idx = 3")
    assert log.verify(signer.verifier).first_bad_leaf == 0
    original = ledger.execute("SELECT appended_at FROM ledger_leaves WHERE idx = 4")[0][0]
    _sql(ledger, "UPDATE ledger_leaves SET appended_at = ? WHERE idx = 3", original)
    _sql(ledger, "UPDATE ledger_logs SET size = 90")
    lowered = log.verify(signer.verifier)
    assert not lowered.ok and lowered.first_bad_leaf == 90
    assert any("size was lowered" in problem for problem in lowered.problems)


@pytest.mark.reliability(
    "attack",
    "an entry rewritten with the tree rebuilt (no re-signing)",
    "detected; located between the two checkpoints that disagree",
)
def test_a_rewrite_with_the_tree_rebuilt_is_located_between_checkpoints(tmp_path: Path) -> None:
    owner = Signer.generate("clearsight/t")
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        log = ledger.log("t")
        log.append(entries(40))
        log.checkpoint(owner)
        log.append(entries(40, 40))
        log.checkpoint(owner)
        # Rebuild the whole log with entry 55 rewritten, then put the signed checkpoints back.
        checkpoints = ledger.execute("SELECT size, root, note, signed_at FROM ledger_checkpoints")
        metadata = ledger.execute("SELECT idx, entry_type, appended_at FROM ledger_leaves")
        rewritten = entries(80)
        rewritten[55] = b'{"title":"T-55","owner":"forger"}'
        for table in ("ledger_leaves", "ledger_nodes", "ledger_checkpoints"):
            ledger.execute(f"DELETE FROM {table}")
        ledger.execute("UPDATE ledger_logs SET size = 0")
        log.append(rewritten)
        for index, entry_type, appended_at in metadata:  # a careful forger keeps every row's metadata
            ledger.execute("UPDATE ledger_leaves SET entry_type = ?, appended_at = ? WHERE idx = ?",
                           [entry_type, appended_at, index])  # fmt: skip
        for size, root, note, signed_at in checkpoints:
            ledger.execute("INSERT INTO ledger_checkpoints VALUES (?, ?, ?, ?, ?)", [log.log_id, size, root, note,
                                                                                   signed_at])  # fmt: skip
        report = log.verify()
    assert not report.ok and report.first_bad_leaf == 40  # the first 40 still match the checkpoint of 40
    assert any("from 40 to 79" in problem for problem in report.problems)
