"""The compact range gives the Merkle Tree Hash of every size, as the tree function does."""

from __future__ import annotations

import hashlib

import pytest

from shared.ledger import merkle
from shared.ledger.compact import CompactRange


def _leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(count)]


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, straight from its recursive definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def test_the_root_of_every_size_up_to_300_is_the_merkle_tree_hash() -> None:
    leaves = _leaves(300)
    nodes: dict[merkle.NodeId, bytes] = {}
    compact = CompactRange()
    for size in range(301):
        assert compact.size == size
        assert compact.root() == _reference_root(leaves[:size]), size
        assert compact.root() == merkle.tree_root(size, nodes), size
        assert compact.frontier() == {n: nodes[n] for n in merkle.root_nodes(size)}
        if size < 300:
            completed = merkle.completed_nodes(size, leaves[size], nodes)
            nodes[merkle.NodeId(0, size)] = leaves[size]
            nodes.update(completed)
            compact.append(leaves[size])


def test_a_range_resumes_from_its_saved_frontier() -> None:
    leaves = _leaves(77)
    first = CompactRange()
    first.extend(leaves[:50])
    resumed = CompactRange.from_json(first.as_json())
    resumed.extend(leaves[50:])
    whole = CompactRange()
    whole.extend(leaves)
    assert resumed == whole and resumed.root() == _reference_root(leaves)


def test_a_frontier_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError):
        CompactRange(3, [b"\x00" * 32])
