"""Auditing a log's leaves against its signed heads, as a Certificate Transparency monitor does.

A monitor holds a verified prefix of the log as a :class:`~shared.ledger.compact.CompactRange`
and the signed roots of the heads it checks. :class:`LeafAudit` reads the leaves after the
prefix in ledger order — each leaf's index, its exact stored bytes and the leaf hash the
store claims for them — and stops at the first that does not hold:

- an index other than the next one: a leaf is missing, repeated or out of order;
- bytes whose RFC 6962 leaf hash is not the stored one: the event was altered;
- the root after the last leaf of a signed head's size is not the head's signed root:
  the leaves since the last matching head were altered, swapped or replaced together with
  their stored hashes (:class:`RootMismatch`; :func:`first_unproven` then names the leaf);
- fewer leaves than the head's size (:meth:`LeafAudit.finish`): the log was truncated.

Pure: the caller reads the leaves (a database, the paged API) and passes them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shared.ledger import merkle
from shared.ledger.compact import CompactRange


@dataclass(frozen=True)
class BadLeaf:
    """The first leaf found not to hold, and why."""

    index: int
    reason: str

    def __str__(self) -> str:
        return f"leaf {self.index}: {self.reason}"


@dataclass(frozen=True)
class RootMismatch(BadLeaf):
    """Leaves ``[start, end)`` do not hash to the signed root of size ``end``; ``index`` is
    ``start`` until :func:`first_unproven` names the leaf."""

    start: int = 0
    end: int = 0


class LeafAudit:
    """Extends ``verified`` leaf by leaf, checking each leaf and every root in ``roots``
    (signed root by tree size). ``verified`` is the frontier at the last matching head."""

    def __init__(self, verified: CompactRange, roots: Mapping[int, bytes]) -> None:
        self.range = verified.copy()
        self.verified = verified.copy()
        self.roots = roots

    def feed(self, index: int, event_bytes: bytes, stored_hash: bytes | None) -> BadLeaf | None:
        """Check the next stored leaf; the first one that does not hold, else None."""
        expected = self.range.size
        if index > expected:
            return BadLeaf(
                expected, f"missing: the store's next leaf after {expected - 1} is {index}"
            )
        if index < expected:
            return BadLeaf(
                index, f"served again after leaf {expected - 1}: leaves are repeated or reordered"
            )
        computed = merkle.leaf_hash(event_bytes)
        if stored_hash is not None and computed != stored_hash:
            return BadLeaf(
                index,
                f"its stored bytes hash to {computed.hex()}, not to the stored leaf hash "
                f"{stored_hash.hex()}: the event was altered",
            )
        self.range.append(computed)
        root = self.roots.get(self.range.size)
        if root is None:
            return None
        if self.range.root() != root:
            start = self.verified.size
            return RootMismatch(
                start,
                f"leaves {start}..{self.range.size - 1} do not hash to the signed root of tree "
                f"size {self.range.size}: leaves were altered, swapped or replaced",
                start=start,
                end=self.range.size,
            )
        self.verified = self.range.copy()
        return None

    def finish(self, size: int) -> BadLeaf | None:
        """After the last leaf read: a failure unless ``size`` leaves were read."""
        if self.range.size < size:
            return BadLeaf(
                self.range.size,
                f"missing: the store ends at leaf {self.range.size - 1} but the signed tree "
                f"head has {size} leaves: the ledger was truncated",
            )
        return None


def first_unproven(
    mismatch: RootMismatch,
    leaves: Iterable[tuple[int, bytes, Sequence[bytes]]],
    root: bytes,
) -> BadLeaf:
    """The first leaf of ``mismatch``'s range whose bytes are not proven in the signed tree.

    ``leaves``: (index, stored bytes, inclusion proof against the tree of ``mismatch.end``)
    for the range, starting at the even index ``mismatch.start & ~1`` and read in pairs.
    Each leaf's sibling leaf is hashed here from its bytes, never taken from the proof
    served; the rest of a proof is checked against the *signed* root, so a proof the store
    forged fails, it cannot pass. Two sibling leaves share their parent: when only one of
    them changed, the even one of the pair is named.
    """
    pending: dict[int, tuple[bytes, Sequence[bytes]]] = {}
    for index, event_bytes, proof in leaves:
        pending[index] = (merkle.leaf_hash(event_bytes), proof)
        pair = index & ~1
        if index == pair and index + 1 < mismatch.end:
            continue  # its sibling comes next
        for member in (pair, pair + 1):
            if member not in pending or member < mismatch.start:
                continue
            own, served = pending[member]
            path = list(served)
            sibling = pending.get(member ^ 1)
            if sibling is not None and path:
                path[0] = sibling[0]
            try:
                merkle.verify_inclusion(member, mismatch.end, own, path, root)
            except merkle.ProofError:
                return BadLeaf(
                    member,
                    f"its bytes are not proven in the signed tree of size {mismatch.end}: "
                    "the event was altered, swapped or replaced",
                )
        pending.clear()
    return mismatch
