"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, inclusion and consistency proofs.

Written from RFC 9162, section 2.1: leaves are hashed as SHA-256(0x00 || entry), interior nodes as
SHA-256(0x01 || left || right), and a tree of n leaves splits at k, the largest power of two smaller than n.

Proof generation takes a `SubtreeHash` function, MTH(D[start:end]), so that storage can answer it from stored
perfect subtrees instead of rehashing leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof or a request for one is invalid."""


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly smaller than `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, computed level by level (for small trees and tests)."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        # Pairing adjacent nodes level by level gives the same root as the recursive split at powers of two:
        # an odd last node is carried up unchanged.
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose D[start:end] into perfect subtrees (level, index), left to right.

    Valid for the ranges RFC 9162's recursions produce: `start` is a multiple of a power of two at least as
    large as the range. MTH(D[start:end]) folds these hashes from the right.
    """
    nodes = []
    while start < end:
        size = end - start
        level = (size).bit_length() - 1 if size & (size - 1) == 0 else split_point(size).bit_length() - 1
        if start % (1 << level):
            raise ProofError(f"range [{start}, {end}) is not aligned to perfect subtrees")
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect-subtree hashes of adjacent ranges (largest first) into the range's MTH."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


class CompactRange:
    """The perfect subtrees on the right edge of a growing tree: enough to append leaves and get the root.

    `push` adds one leaf hash and returns the subtrees it completes, as (level, index, hash), leaf included.
    """

    def __init__(self, size: int = 0, edge: Sequence[bytes] = ()) -> None:
        levels = [level for level, _ in perfect_subtrees(0, size)]
        if len(levels) != len(edge):
            raise ProofError(f"a tree of size {size} has {len(levels)} edge subtrees, not {len(edge)}")
        self.size = size
        self.stack: list[tuple[int, bytes]] = list(zip(levels, edge, strict=True))

    def push(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        completed = [(0, self.size, leaf)]
        self.stack.append((0, leaf))
        self.size += 1
        while len(self.stack) > 1 and self.stack[-1][0] == self.stack[-2][0]:
            level, right = self.stack.pop()
            _, left = self.stack.pop()
            parent = node_hash(left, right)
            completed.append((level + 1, (self.size >> (level + 1)) - 1, parent))
            self.stack.append((level + 1, parent))
        return completed

    def root(self) -> bytes:
        return fold_right([digest for _, digest in self.stack]) if self.stack else EMPTY_ROOT


# --- proof generation (RFC 9162, 2.1.3.1 and 2.1.4.1) ---------------------------------------------------


def inclusion_path(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    # Walk down from the root; siblings are collected top-down and returned bottom-up.
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start = start + k
    path.reverse()
    return path


def consistency_path(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m <= n: the consistency proof between two sizes of one tree."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}: need 0 < old <= new")
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        if m == end - start:
            if not complete:
                proof.append(subtree(start, end))
            break
        k = split_point(end - start)
        if m <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start, m, complete = start + k, m - k, False
    proof.reverse()
    return proof


# --- verification (RFC 9162, 2.1.3.2 and 2.1.4.2) --------------------------------------------------------


def root_from_inclusion_path(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion path leads to; raises ProofError when the path cannot be for (index, size)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if any(len(item) != HASH_SIZE for item in path) or len(leaf) != HASH_SIZE:
        raise ProofError("proof hashes must be 32 bytes")
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ProofError("inclusion path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion path is shorter than the tree is deep")
    return result


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `path` proves leaf hash `leaf` is at `index` in the tree of `size` with `root`."""
    if root_from_inclusion_path(index, size, leaf, path) != root:
        raise ProofError("inclusion path does not lead to the root")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Raise ProofError unless `proof` shows the tree of `new_size` extends the tree of `old_size`.

    Size 0 is refused: every tree extends the empty tree, so such a "proof" would prove nothing and
    accepting one would hide a caller's mistake (the RFC 6962/9162 test vectors expect an error).
    Equal sizes need an empty proof and equal roots.
    """
    if any(len(item) != HASH_SIZE for item in proof):
        raise ProofError("proof hashes must be 32 bytes")
    if old_size <= 0:
        raise ProofError("a consistency proof needs an old tree size above 0")
    if new_size < old_size:
        raise ProofError(f"new size {new_size} is smaller than old size {old_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("trees of equal size need an empty proof")
        if old_root != new_root:
            raise ProofError("trees of equal size have different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a perfect subtree: its root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_result = new_result = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            old_result = node_hash(node, old_result)
            new_result = node_hash(node, new_result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            new_result = node_hash(new_result, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if old_result != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if new_result != new_root:
        raise ProofError("consistency proof does not lead to the new root")
