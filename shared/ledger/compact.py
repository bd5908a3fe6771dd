"""A compact range: the root of a growing tree in O(log n) state (its frontier).

The Merkle Tree Hash of ``size`` leaves is the right fold of the hashes of its complete
subtrees (:func:`shared.ledger.merkle.root_nodes`): one per bit set in ``size``, largest
first. Appending leaf ``size`` merges the trailing subtrees of equal height, exactly as a
binary counter carries. So a monitor that has verified a prefix of the log keeps only
these hashes, appends each new leaf in O(1) amortised, and recomputes the root of any
later size without reading the prefix again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.ledger import merkle
from shared.ledger.merkle import NodeId


@dataclass
class CompactRange:
    """Leaves ``[0, size)`` of a tree, held as the hashes of its frontier (left to right)."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != bin(self.size).count("1"):
            raise ValueError(f"a range of {self.size} leaves has one hash per bit of its size")
        if any(len(h) != merkle.HASH_SIZE for h in self.hashes):
            raise ValueError("frontier hashes are 32 bytes")

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf (its RFC 6962 leaf hash)."""
        carried = leaf_hash
        size = self.size
        while size & 1:  # each trailing 1 bit: a subtree of the same height to merge with
            carried = merkle.node_hash(self.hashes.pop(), carried)
            size >>= 1
        self.hashes.append(carried)
        self.size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf_hash in leaf_hashes:
            self.append(leaf_hash)

    def root(self) -> bytes:
        """The Merkle Tree Hash of the leaves so far (SHA-256 of nothing when empty)."""
        return merkle.fold_range(self.hashes) if self.hashes else merkle.EMPTY_ROOT

    def frontier(self) -> dict[NodeId, bytes]:
        """The hashes keyed by the complete subtrees they are (as a store keeps them)."""
        return dict(zip(merkle.root_nodes(self.size), self.hashes, strict=True))

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.hashes))

    @classmethod
    def of_frontier(cls, size: int, nodes: Mapping[NodeId, bytes]) -> CompactRange:
        """The range of ``size`` leaves from stored subtrees (raises KeyError if one is absent)."""
        return cls(size, [nodes[node] for node in merkle.root_nodes(size)])

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, "frontier": [h.hex() for h in self.hashes]}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> CompactRange:
        """Parse :meth:`as_json` output (raises ValueError/KeyError/TypeError if malformed)."""
        size, frontier = document["size"], document["frontier"]
        if not isinstance(size, int) or not isinstance(frontier, Sequence):
            raise TypeError("a compact range is a size and a list of hex hashes")
        return cls(size, [bytes.fromhex(h) for h in frontier])
