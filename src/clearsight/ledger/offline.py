"""Verification a third party can do with no access to the log: a checkpoint, an entry and a proof suffice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearsight.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from clearsight.ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint, verify_witness_policy


@dataclass(frozen=True)
class Verified:
    """What an offline verification established."""

    checkpoint: Checkpoint
    witnesses: tuple[str, ...] = ()


def _open(note: str, log_key: Verifier, witnesses: Sequence[Verifier], quorum: int) -> Verified:
    checkpoint, parsed = open_checkpoint(note, log_key)
    signed = tuple(verify_witness_policy(parsed, witnesses, quorum)) if witnesses else ()
    return Verified(checkpoint, signed)


def verify_entry(
    note: str,
    log_key: Verifier,
    entry: bytes,
    index: int,
    proof: Sequence[bytes],
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> Verified:
    """Check that `entry` is leaf `index` of the tree the signed checkpoint `note` commits to.

    Raises NoteError (signature, witnesses) or ProofError (inclusion).
    """
    verified = _open(note, log_key, witnesses, quorum)
    checkpoint = verified.checkpoint
    verify_inclusion(index, checkpoint.size, leaf_hash(entry), proof, checkpoint.root)
    return verified


def verify_extension(
    old_note: str,
    new_note: str,
    log_key: Verifier,
    proof: Sequence[bytes],
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> Verified:
    """Check that the log's newer checkpoint extends an older one (nothing before it was rewritten).

    Raises NoteError when either checkpoint is not the log's, ProofError when history was rewritten.
    """
    old = _open(old_note, log_key, (), 0).checkpoint
    new = _open(new_note, log_key, witnesses, quorum)
    if old.origin != new.checkpoint.origin:
        raise NoteError(f"checkpoints of different logs: {old.origin!r} and {new.checkpoint.origin!r}")
    if old.size == 0:
        return new  # every tree extends the empty tree
    verify_consistency(old.size, new.checkpoint.size, old.root, new.checkpoint.root, proof)
    return new
