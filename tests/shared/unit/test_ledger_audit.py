"""The leaf audit names the first bad leaf for each kind of tampering, from bytes alone."""

from __future__ import annotations

from shared.ledger import merkle
from shared.ledger.audit import BadLeaf, LeafAudit, RootMismatch, first_unproven
from shared.ledger.compact import CompactRange

LEAVES = [f"event {i}".encode() for i in range(10)]
HASHES = [merkle.leaf_hash(b) for b in LEAVES]
NODES = {merkle.NodeId(0, i): h for i, h in enumerate(HASHES)}
for _i, _h in enumerate(HASHES):
    NODES.update(merkle.completed_nodes(_i, _h, NODES))
ROOTS = {s: merkle.tree_root(s, NODES) for s in (4, 10)}


def _run(rows: list[tuple[int, bytes, bytes]]) -> BadLeaf | None:
    audit = LeafAudit(CompactRange(), ROOTS)
    for index, data, stored in rows:
        bad = audit.feed(index, data, stored)
        if bad is not None:
            return bad
    return audit.finish(10)


def _rows() -> list[tuple[int, bytes, bytes]]:
    return [(i, LEAVES[i], HASHES[i]) for i in range(10)]


def test_an_intact_ledger_holds() -> None:
    assert _run(_rows()) is None


def test_each_tampering_names_its_first_bad_leaf() -> None:
    altered = _rows()
    altered[6] = (6, b"event X", HASHES[6])
    missing = [r for r in _rows() if r[0] != 3]
    truncated = _rows()[:9]
    reordered = _rows()
    reordered[5], reordered[6] = reordered[6], reordered[5]
    assert _run(altered) == BadLeaf(6, _run(altered).reason)  # type: ignore[union-attr]
    assert _run(missing).index == 3  # type: ignore[union-attr]
    assert _run(truncated).index == 9  # type: ignore[union-attr]
    assert _run(reordered).index == 5  # type: ignore[union-attr]


def test_leaves_swapped_with_their_hashes_are_located_by_proofs() -> None:
    swapped = _rows()
    swapped[6], swapped[8] = (6, LEAVES[8], HASHES[8]), (8, LEAVES[6], HASHES[6])
    bad = _run(swapped)
    assert isinstance(bad, RootMismatch) and (bad.start, bad.end) == (4, 10)
    # Proofs as a store holding the swapped rows would serve them (its own leaf hashes).
    stored = dict(NODES)
    stored[merkle.NodeId(0, 6)], stored[merkle.NodeId(0, 8)] = HASHES[8], HASHES[6]
    leaves = [(i, data, merkle.inclusion_proof(i, 10, stored)) for i, data, _ in swapped[4:]]
    assert first_unproven(bad, leaves, ROOTS[10]).index == 6
