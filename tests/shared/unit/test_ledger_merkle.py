"""The ledger's Merkle tree against RFC 6962 test vectors and a literal RFC implementation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ledger import merkle
from shared.ledger.merkle import NodeId, ProofError

# Test vectors of transparency-dev/merkle (proof/verify_test.go), the Certificate
# Transparency / Trillian suite: 8 leaves, roots per size, audit paths, consistency proofs.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path); the Go source numbers leaves from 1.
INCLUSION_PROOFS = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def appended(leaf_data: list[bytes]) -> dict[NodeId, bytes]:
    """The complete subtrees a store holds after appending ``leaf_data`` one leaf at a time."""
    nodes: dict[NodeId, bytes] = {}
    for index, data in enumerate(leaf_data):
        leaf = merkle.leaf_hash(data)
        siblings = {n: nodes[n] for n in merkle.nodes_completed_by(index)}
        nodes[NodeId(0, index)] = leaf
        nodes.update(merkle.completed_nodes(index, leaf, siblings))
    return nodes


def leaves_of(size: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(size)]


# --- RFC 6962 §2.1, written out literally (slow, obviously right) ---------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(data: list[bytes]) -> bytes:
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = _k(len(data))
    return hashlib.sha256(b"\x01" + rfc_mth(data[:k]) + rfc_mth(data[k:])).digest()


def rfc_path(m: int, data: list[bytes]) -> list[bytes]:
    if len(data) == 1:
        return []
    k = _k(len(data))
    if m < k:
        return [*rfc_path(m, data[:k]), rfc_mth(data[k:])]
    return [*rfc_path(m - k, data[k:]), rfc_mth(data[:k])]


def rfc_subproof(m: int, data: list[bytes], complete: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if complete else [rfc_mth(data)]
    k = _k(n)
    if m <= k:
        return [*rfc_subproof(m, data[:k], complete), rfc_mth(data[k:])]
    return [*rfc_subproof(m - k, data[k:], False), rfc_mth(data[:k])]


def rfc_proof(m: int, data: list[bytes]) -> list[bytes]:
    return rfc_subproof(m, data, True) if 0 < m < len(data) else []


# --- Known vectors ---------------------------------------------------------------------


def test_empty_tree_hash_is_sha256_of_nothing() -> None:
    assert merkle.tree_root(0, {}).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_vectors(size: int) -> None:
    assert merkle.tree_root(size, appended(LEAVES[:size])).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_inclusion_proofs_match_the_vectors(index: int, size: int, path: list[str]) -> None:
    nodes = appended(LEAVES[:size])
    proof = merkle.inclusion_proof(index, size, nodes)
    assert [h.hex() for h in proof] == path
    leaf = merkle.leaf_hash(LEAVES[index])
    merkle.verify_inclusion(index, size, leaf, proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY_PROOFS)
def test_consistency_proofs_match_the_vectors(first: int, second: int, path: list[str]) -> None:
    proof = merkle.consistency_proof(first, second, appended(LEAVES[:second]))
    assert [h.hex() for h in proof] == path
    merkle.verify_consistency(
        first, second, bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1]), proof
    )


SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_corrupted_inclusion_proofs_are_refused(index: int, size: int, path: list[str]) -> None:
    """The corruptions of the Trillian suite: wrong index, size, leaf, root; extra or missing."""
    proof = [bytes.fromhex(h) for h in path]
    root = bytes.fromhex(ROOTS[size - 1])
    leaf = merkle.leaf_hash(LEAVES[index])
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, merkle.leaf_hash(b"wrong leaf"), proof, root),
        (index, size, leaf, proof, merkle.EMPTY_ROOT),
        (index, size, leaf, proof, SOME_HASH),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [root, *proof], root),
        (index, size, leaf, proof[:-1], root),
        (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, leaf, flipped, root))
    for probe in probes:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*probe)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY_PROOFS[1:])
def test_corrupted_consistency_proofs_are_refused(first: int, second: int, path: list[str]) -> None:
    proof = [bytes.fromhex(h) for h in path]
    r1, r2 = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    probes = [
        (first - 1, second, r1, r2, proof),
        (first + 1, second, r1, r2, proof),
        (first ^ 2, second, r1, r2, proof),
        (first, second * 2, r1, r2, proof),
        (first, second // 2, r1, r2, proof),
        (first, second, SOME_HASH, r2, proof),
        (first, second, r1, SOME_HASH, proof),
        (first, second, r2, r1, proof),
        (first, second, r1, r2, []),
        (first, second, r1, r2, [*proof, r1]),
        (first, second, r1, r2, [*proof, r2]),
        (first, second, r1, r2, [r1, *proof]),
        (first, second, r1, r2, [r2, *proof]),
        (first, second, r1, r2, [proof[0], *proof]),
        (first, second, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((first, second, r1, r2, flipped))
    for probe in probes:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*probe)


def test_trivial_consistency_cases() -> None:
    r = bytes.fromhex(ROOTS[0])
    merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, bytes.fromhex(ROOTS[4]), [])
    merkle.verify_consistency(1, 1, r, r, [])
    with pytest.raises(ProofError):
        merkle.verify_consistency(1, 1, r, SOME_HASH, [])  # two roots for one size
    with pytest.raises(ProofError):
        merkle.verify_consistency(2, 1, r, r, [])  # the log shrank
    with pytest.raises(ProofError):
        merkle.verify_consistency(1, 1, r, r, [r])  # equal sizes need an empty proof


# --- The stored-subtree implementation equals the literal RFC ----------------------------


def test_every_proof_up_to_33_leaves_equals_the_rfc() -> None:
    for size in range(1, 34):
        data = leaves_of(size)
        nodes = appended(data)
        assert merkle.tree_root(size, nodes) == rfc_mth(data)
        for index in range(size):
            assert merkle.inclusion_proof(index, size, nodes) == rfc_path(index, data)
        for first in range(size + 1):
            assert merkle.consistency_proof(first, size, nodes) == rfc_proof(first, data)


def test_a_store_keeps_one_node_per_complete_subtree() -> None:
    # n leaves have fewer than 2n complete subtrees: storage grows linearly.
    for size in (1, 2, 3, 7, 8, 100, 1000):
        assert size <= len(appended(leaves_of(size))) < 2 * size


@given(size=st.integers(1, 1 << 40), data=st.data())
def test_a_proof_needs_logarithmically_many_stored_nodes(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(0, size))
    bound = 2 * size.bit_length() + 1
    assert len(merkle.nodes_for(merkle.inclusion_ranges(index, size))) <= bound
    assert len(merkle.nodes_for(merkle.consistency_ranges(first, size))) <= bound
    assert len(merkle.root_nodes(size)) <= size.bit_length()


# --- Properties -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 400), data=st.data())
def test_every_inclusion_proof_verifies_and_any_flipped_bit_fails(
    size: int, data: st.DataObject
) -> None:
    nodes = appended(leaves_of(size))
    root = merkle.tree_root(size, nodes)
    index = data.draw(st.integers(0, size - 1))
    leaf = nodes[NodeId(0, index)]
    proof = merkle.inclusion_proof(index, size, nodes)
    merkle.verify_inclusion(index, size, leaf, proof, root)

    material = [leaf, root, *proof]
    which = data.draw(st.integers(0, len(material) - 1))
    bit = data.draw(st.integers(0, 255))
    flipped = bytearray(material[which])
    flipped[bit // 8] ^= 1 << (bit % 8)
    material[which] = bytes(flipped)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, material[0], material[2:], material[1])


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 400), data=st.data())
def test_every_consistency_proof_verifies_and_any_flipped_bit_fails(
    size: int, data: st.DataObject
) -> None:
    nodes = appended(leaves_of(size))
    first = data.draw(st.integers(1, size))
    r1, r2 = merkle.tree_root(first, nodes), merkle.tree_root(size, nodes)
    proof = merkle.consistency_proof(first, size, nodes)
    merkle.verify_consistency(first, size, r1, r2, proof)

    material = [r1, r2, *proof]
    which = data.draw(st.integers(0, len(material) - 1))
    if first == size and which == 0:
        which = 1  # equal sizes: r1 is r2, flipping either must fail the same way
    bit = data.draw(st.integers(0, 255))
    flipped = bytearray(material[which])
    flipped[bit // 8] ^= 1 << (bit % 8)
    material[which] = bytes(flipped)
    with pytest.raises(ProofError):
        merkle.verify_consistency(first, size, material[0], material[1], material[2:])


@settings(max_examples=40, deadline=None)
@given(size=st.integers(2, 200), data=st.data())
def test_a_proof_for_one_leaf_does_not_prove_another(size: int, data: st.DataObject) -> None:
    nodes = appended(leaves_of(size))
    root = merkle.tree_root(size, nodes)
    index = data.draw(st.integers(0, size - 1))
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    proof = merkle.inclusion_proof(index, size, nodes)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(other, size, nodes[NodeId(0, index)], proof, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, nodes[NodeId(0, other)], proof, root)


# --- Edges ----------------------------------------------------------------------------


@settings(max_examples=200)
@given(st.integers(1, 5000), st.data())
def test_the_ranges_of_many_leaves_are_each_leafs_own(size: int, data: st.DataObject) -> None:
    indexes = data.draw(st.lists(st.integers(0, size - 1), max_size=20))
    paths = merkle.inclusion_ranges_of(indexes, size)
    assert paths == {i: merkle.inclusion_ranges(i, size) for i in indexes}
    with pytest.raises(ProofError):
        merkle.inclusion_ranges_of([*indexes, size], size)


def test_ranges_that_are_not_tree_nodes_are_refused() -> None:
    assert merkle.range_nodes(4, 7) == [NodeId(1, 2), NodeId(0, 6)]
    with pytest.raises(ProofError):
        merkle.range_nodes(1, 4)  # leaves 1..3 are never one node of an RFC 6962 tree
    with pytest.raises(ProofError):
        merkle.range_nodes(3, 3)


def test_proofs_outside_the_tree_are_refused() -> None:
    nodes = appended(leaves_of(4))
    with pytest.raises(ProofError):
        merkle.inclusion_proof(4, 4, nodes)
    with pytest.raises(ProofError):
        merkle.consistency_proof(5, 4, nodes)
    with pytest.raises(ProofError, match="missing"):
        merkle.tree_root(5, nodes)  # the store holds no fifth leaf


def test_tree_head_signing_input_is_rfc_6962_tree_head_signature() -> None:
    root = bytes(range(32))
    signed = merkle.tree_head_signing_input(7, 1_546_300_800_000, root)
    assert signed[:2] == b"\x00\x01"  # v1, tree_hash
    assert int.from_bytes(signed[2:10], "big") == 1_546_300_800_000
    assert int.from_bytes(signed[10:18], "big") == 7
    assert signed[18:] == root
    with pytest.raises(ProofError):
        merkle.tree_head_signing_input(7, 0, b"short")
