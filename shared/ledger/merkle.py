"""The ledger's Merkle tree: RFC 6962 / RFC 9162 hashing, proofs and their verification.

Pure functions, no I/O. A tree of ``size`` leaves is addressed by *complete subtrees*:
``NodeId(level, index)`` covers leaves ``[index * 2**level, (index + 1) * 2**level)``;
level 0 is a leaf hash. Complete subtrees never change once their last leaf is appended,
so a store keeps each one exactly once and any root or proof of any size needs only
O(log n) of them (:func:`range_nodes`). Callers pass those hashes in as a mapping.

Hashing (RFC 6962 §2.1): leaf = SHA-256(0x00 || bytes), node = SHA-256(0x01 || left ||
right); the hash of an empty tree is SHA-256 of nothing. Proofs are lists of 32-byte
hashes, leaf to root, exactly as RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF) define them.
Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.
"""

from __future__ import annotations

import hashlib
import hmac
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


@dataclass(frozen=True, order=True)
class NodeId:
    """A complete subtree: ``2**level`` leaves starting at leaf ``index * 2**level``."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


NodeHashes = Mapping[NodeId, bytes]


class ProofError(ValueError):
    """A proof does not hold, or was asked for sizes or indexes that do not exist."""


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of a leaf holding ``data``."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (``size`` >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


# --- Complete subtrees ---------------------------------------------------------------


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """The complete subtrees, left to right, whose hashes make up the range's RFC 6962 hash.

    ``[begin, end)`` must be a node of some RFC 6962 tree (``begin`` a multiple of a power
    of two not smaller than ``end - begin``): its hash is then the right fold of these.
    """
    if not 0 <= begin < end:
        raise ProofError(f"empty or negative range [{begin}, {end})")
    nodes: list[NodeId] = []
    position = begin
    while position < end:
        level = (end - position).bit_length() - 1
        if position & ((1 << level) - 1):
            raise ProofError(f"[{begin}, {end}) is not a node of an RFC 6962 tree")
        nodes.append(NodeId(level, position >> level))
        position += 1 << level
    return nodes


def fold_range(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its complete subtrees' hashes (as :func:`range_nodes` lists)."""
    if not hashes:
        raise ProofError("no subtree hashes to fold")
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(begin: int, end: int, nodes: NodeHashes) -> bytes:
    """The RFC 6962 hash of leaves ``[begin, end)`` from the stored complete subtrees."""
    return fold_range([_lookup(nodes, node) for node in range_nodes(begin, end)])


def _lookup(nodes: NodeHashes, node: NodeId) -> bytes:
    try:
        return nodes[node]
    except KeyError:
        raise ProofError(f"subtree {node} is missing from the store") from None


def root_nodes(size: int) -> list[NodeId]:
    """The complete subtrees the root of a ``size``-leaf tree is made of (its frontier)."""
    return range_nodes(0, size) if size else []


def tree_root(size: int, nodes: NodeHashes) -> bytes:
    """The Merkle Tree Hash of the first ``size`` leaves."""
    return range_hash(0, size, nodes) if size else EMPTY_ROOT


def nodes_completed_by(index: int) -> list[NodeId]:
    """The left siblings needed to hash the subtrees that appending leaf ``index`` completes."""
    needed = []
    level = 0
    while (index + 1) % (1 << (level + 1)) == 0:
        needed.append(NodeId(level, ((index + 1) >> level) - 2))
        level += 1
    return needed


def completed_nodes(index: int, leaf: bytes, siblings: NodeHashes) -> list[tuple[NodeId, bytes]]:
    """Subtrees (level >= 1) completed by appending ``leaf`` at ``index``, with their hashes.

    ``siblings`` holds the nodes :func:`nodes_completed_by` named.
    """
    completed = []
    current = leaf
    for sibling in nodes_completed_by(index):
        current = node_hash(_lookup(siblings, sibling), current)
        completed.append((NodeId(sibling.level + 1, sibling.index // 2), current))
    return completed


# --- Proofs: which ranges, then which stored nodes ------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PATH(index, D[0:size]) (RFC 6962 §2.1.1), leaf first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    begin, end = 0, size
    while end - begin > 1:
        k = _split(end - begin)
        if index < begin + k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            begin = begin + k
    ranges.reverse()
    return ranges


def inclusion_ranges_of(indexes: Iterable[int], size: int) -> dict[int, list[tuple[int, int]]]:
    """:func:`inclusion_ranges` of several leaves, each split of the tree made once: the
    paths of nearby leaves (a subject's events) share all their upper ranges."""
    leaves = sorted(set(indexes))
    outside = [i for i in leaves[:1] + leaves[-1:] if not 0 <= i < size]
    if outside:
        raise ProofError(f"leaf {outside[0]} is not in a tree of size {size}")
    paths: dict[int, list[tuple[int, int]]] = {i: [] for i in leaves}
    todo = [(0, size, leaves)] if leaves else []
    while todo:  # every subtree holding some of the leaves, root first
        begin, end, inside = todo.pop()
        if end - begin == 1:
            continue
        middle = begin + _split(end - begin)
        cut = bisect_left(inside, middle)
        left, right = inside[:cut], inside[cut:]
        for i in left:
            paths[i].append((middle, end))
        for i in right:
            paths[i].append((begin, middle))
        if left:
            todo.append((begin, middle, left))
        if right:
            todo.append((middle, end, right))
    for path in paths.values():
        path.reverse()  # leaf first, as inclusion_ranges
    return paths


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PROOF(first, D[0:second]) (RFC 6962 §2.1.2)."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    ranges: list[tuple[int, int]] = []
    begin, end, complete = 0, second, True
    m = first
    while m != end - begin:
        k = _split(end - begin)
        if m <= k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            m -= k
            begin, complete = begin + k, False
    if not complete:
        ranges.append((begin, end))
    ranges.reverse()
    return ranges


def nodes_for(ranges: Sequence[tuple[int, int]]) -> list[NodeId]:
    """Every stored subtree needed to hash ``ranges`` (O(log n) of them for one proof)."""
    return [node for begin, end in ranges for node in range_nodes(begin, end)]


def proof_hashes(ranges: Sequence[tuple[int, int]], nodes: NodeHashes) -> list[bytes]:
    """The proof: each range's hash, from the nodes :func:`nodes_for` named."""
    return [range_hash(begin, end, nodes) for begin, end in ranges]


def inclusion_proof(index: int, size: int, nodes: NodeHashes) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves."""
    return proof_hashes(inclusion_ranges(index, size), nodes)


def consistency_proof(first: int, second: int, nodes: NodeHashes) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    return proof_hashes(consistency_ranges(first, second), nodes)


# --- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --------------------------------------


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf`` at ``index``; raises if it cannot."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes([leaf, *proof])
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is high")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless ``proof`` shows ``leaf`` at ``index`` in the tree ``root``."""
    computed = root_from_inclusion_proof(index, size, leaf, proof)
    if not hmac.compare_digest(computed, root):
        raise ProofError(
            f"inclusion proof of leaf {index} leads to root {computed.hex()}, "
            f"not the expected {root.hex()}"
        )


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless ``proof`` shows tree ``first_root`` a prefix of ``second_root``."""
    if not 0 <= first <= second:
        raise ProofError(f"size {first} is larger than size {second}: the log shrank")
    _check_hashes([first_root, second_root, *proof])
    if first == second:
        if proof:
            raise ProofError("proof between equal sizes must be empty")
        if not hmac.compare_digest(first_root, second_root):
            raise ProofError(f"two different roots for the same size {first}")
        return
    if first == 0:
        if proof:
            raise ProofError("proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if not hmac.compare_digest(fr, first_root):
        raise ProofError(f"consistency proof does not lead to the root of size {first}")
    if not hmac.compare_digest(sr, second_root):
        raise ProofError(f"consistency proof does not lead to the root of size {second}")


def _check_hashes(hashes: Sequence[bytes]) -> None:
    for value in hashes:
        if len(value) != HASH_SIZE:
            raise ProofError(f"a hash of {len(value)} bytes where SHA-256 gives {HASH_SIZE}")


# --- Signed tree heads -----------------------------------------------------------------


def tree_head_signing_input(tree_size: int, timestamp_ms: int, root: bytes) -> bytes:
    """The bytes an Ed25519 tree-head signature covers: RFC 6962 §3.5 TreeHeadSignature.

    version v1 (0), signature_type tree_hash (1), uint64 timestamp (ms since the epoch),
    uint64 tree_size, the 32-byte root hash — all big-endian.
    """
    _check_hashes([root])
    if tree_size < 0 or timestamp_ms < 0:
        raise ValueError("tree size and timestamp are unsigned")
    return b"\x00\x01" + timestamp_ms.to_bytes(8, "big") + tree_size.to_bytes(8, "big") + root
