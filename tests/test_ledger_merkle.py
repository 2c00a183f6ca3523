"""RFC 9162 Merkle proofs: the published test vectors, and properties over random trees."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.ledger import merkle
from tests.conftest import SHARED_DATA

REFERENCE_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]


def _cases(kind: str) -> list[Any]:
    """The vectors of one kind; when the public data is absent, one case skipped with the reason (collection runs
    before any test, where pytest.skip would skip, or break, the whole module)."""
    folder = SHARED_DATA / "ledger" / "rfc6962-vectors" / kind
    if not folder.exists():
        reason = f"public test data not available: {folder} (see ../shared/data/README.md)"
        return [pytest.param(folder, marks=pytest.mark.skip(reason=reason), id="absent")]
    return sorted(folder.rglob("*.json"))


def _b64(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(value) for value in values or []]


def test_reference_root() -> None:
    hashes = [merkle.leaf_hash(bytes.fromhex(leaf)) for leaf in REFERENCE_LEAVES]
    assert merkle.root_from_leaf_hashes(hashes).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_inclusion_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    arguments = (
        case["leafIdx"],
        case["treeSize"],
        base64.b64decode(case["leafHash"]),
        _b64(case["proof"]),
        base64.b64decode(case["root"]),
    )
    if case.get("wantErr"):
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*arguments)
    else:
        merkle.verify_inclusion(*arguments)


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_consistency_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    arguments = (
        case["size1"],
        case["size2"],
        base64.b64decode(case["root1"]),
        base64.b64decode(case["root2"]),
        _b64(case["proof"]),
    )
    if case.get("wantErr"):
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*arguments)
    else:
        merkle.verify_consistency(*arguments)


def test_vectors_include_valid_and_invalid_cases() -> None:
    outcomes = {
        json.loads(path.read_text()).get("wantErr", False) for path in _cases("inclusion") + _cases("consistency")
    }
    assert outcomes == {True, False}


def test_size_zero_consistency_rule() -> None:
    # Every tree extends the empty tree; a "proof" of it proves nothing, so it is refused, as in the vectors.
    with pytest.raises(merkle.ProofError, match="above 0"):
        merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    with pytest.raises(merkle.ProofError):
        merkle.consistency_path(0, 5, lambda start, end: b"")


def _tree(size: int) -> tuple[list[bytes], merkle.SubtreeHash]:
    hashes = [merkle.leaf_hash(index.to_bytes(4, "big")) for index in range(size)]
    return hashes, lambda start, end: merkle.root_from_leaf_hashes(hashes[start:end])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300).flatmap(lambda size: st.tuples(st.just(size), st.integers(0, size - 1))))
def test_every_inclusion_proof_verifies(case: tuple[int, int]) -> None:
    size, index = case
    hashes, subtree = _tree(size)
    root = merkle.root_from_leaf_hashes(hashes)
    merkle.verify_inclusion(index, size, hashes[index], merkle.inclusion_path(index, size, subtree), root)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300).flatmap(lambda size: st.tuples(st.integers(1, size), st.just(size))))
def test_every_consistency_proof_verifies(case: tuple[int, int]) -> None:
    old, new = case
    hashes, subtree = _tree(new)
    merkle.verify_consistency(
        old,
        new,
        merkle.root_from_leaf_hashes(hashes[:old]),
        merkle.root_from_leaf_hashes(hashes),
        merkle.consistency_path(old, new, subtree),
    )


def _flip(proof: list[bytes], position: int) -> list[bytes]:
    item, bit = divmod(position, 256)
    changed = bytearray(proof[item])
    changed[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:item], bytes(changed), *proof[item + 1 :]]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 200).flatmap(lambda size: st.tuples(st.just(size), st.integers(0, size - 1))))
def test_every_single_bit_change_to_an_inclusion_proof_fails(case: tuple[int, int]) -> None:
    size, index = case
    hashes, subtree = _tree(size)
    root = merkle.root_from_leaf_hashes(hashes)
    proof = merkle.inclusion_path(index, size, subtree)
    for position in range(len(proof) * 256):
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, hashes[index], _flip(proof, position), root)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 200).flatmap(lambda size: st.tuples(st.integers(1, size - 1), st.just(size))))
def test_every_single_bit_change_to_a_consistency_proof_fails(case: tuple[int, int]) -> None:
    old, new = case
    hashes, subtree = _tree(new)
    old_root, new_root = merkle.root_from_leaf_hashes(hashes[:old]), merkle.root_from_leaf_hashes(hashes)
    proof = merkle.consistency_path(old, new, subtree)
    for position in range(len(proof) * 256):
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, old_root, new_root, _flip(proof, position))
