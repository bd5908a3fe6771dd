"""The ledger in a real database (SQLite and PostgreSQL): appends, proofs, append-only rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.audit.ledger.store import ConflictingEvent, LedgerStore
from shared.db import create_engine, session_factory
from shared.events import CloudEvent
from shared.ledger import merkle
from shared.ledger.signing import LedgerKey
from shared.migrations import upgrade_to_head

pytestmark = pytest.mark.integration

HOUSEHOLD = str(uuid.uuid4())


def cloud_event(n: int, **data: object) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.UUID(int=n + 1)),
        source="/ansinh/households",
        type="vn.ansinh.households.person_added.v1",
        subject=HOUSEHOLD if n % 3 == 0 else str(uuid.uuid4()),
        time=f"2019-03-01T08:{n // 60:02d}:{n % 60:02d}.000000Z",
        data={"household_id": HOUSEHOLD, "commune_code": "30337", "n": n, **data},
    )


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await upgrade_to_head("audit", database_url)
    engine: AsyncEngine = create_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def test_many_appends_in_one_transaction_and_a_rolled_back_one_leave_a_sound_tree(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A consumer batch appends many events in one transaction (the size and frontier kept
    in memory between them); a savepoint rolled back after an append must not leave a gap
    or a wrong subtree behind."""
    kept: list[bytes] = []
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        for n in range(37):
            if n in (5, 16):  # appended, then its savepoint rolls back: never a leaf
                with pytest.raises(RuntimeError):
                    async with session.begin_nested():
                        await store.append(cloud_event(n))
                        raise RuntimeError("the handler failed after the append")
                continue
            entry, appended = await store.append(cloud_event(n))
            assert appended and entry.leaf_index == len(kept)
            kept.append(entry.leaf_hash)
        again, appended = await store.append(cloud_event(0))
        assert not appended and again.leaf_index == 0
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        entry, appended = await store.append(cloud_event(5))  # a later transaction goes on
        assert appended and entry.leaf_index == len(kept)
        kept.append(entry.leaf_hash)
        size = len(kept)
        assert await store.size() == size
        assert await store.root(size) == merkle.tree_root(size, _tree(kept))
        for index in range(size):
            proof = await store.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, kept[index], proof, await store.root(size))


async def test_deferred_appends_are_written_by_the_commit_and_seen_by_reads_before_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The audit consumer defers a batch's ledger rows to its commit: the tree must be the
    same as appending one by one, and a read in between must see every deferred leaf."""
    kept: list[bytes] = []
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        for n in range(23):
            entry, appended = await store.append(cloud_event(n), deferred=True)
            assert appended and entry.leaf_index == n
            kept.append(entry.leaf_hash)
            if n == 9:
                assert await store.size() == 10  # a read writes what was deferred first
        mid = await store.append(cloud_event(23))  # an immediate append after deferred ones
        kept.append(mid[0].leaf_hash)
        for n in range(24, 30):
            entry, _ = await store.append(cloud_event(n), deferred=True)
            kept.append(entry.leaf_hash)
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        assert await store.size() == 30
        root = await store.root(30)
        assert root == merkle.tree_root(30, _tree(kept))
        for index in (0, 9, 10, 23, 29):
            proof = await store.inclusion_proof(index, 30)
            merkle.verify_inclusion(index, 30, kept[index], proof, root)
        assert [e.leaf_index for e in await store.trail(HOUSEHOLD)] == list(range(30))
    with pytest.raises(IntegrityError):  # already a leaf: the deferred write fails the commit
        async with sessions() as session, session.begin():
            await LedgerStore(session).append(cloud_event(4), deferred=True)
    async with sessions() as session:
        assert await LedgerStore(session).size() == 30


def _tree(leaves: list[bytes]) -> dict[merkle.NodeId, bytes]:
    """Every complete subtree of ``leaves``, hashed from scratch."""
    nodes = {merkle.NodeId(0, i): leaf for i, leaf in enumerate(leaves)}
    level = 0
    while True:
        pairs = [
            (merkle.NodeId(level + 1, i // 2), nodes[merkle.NodeId(level, i)], right)
            for i in range(0, len(leaves) >> level, 2)
            if (right := nodes.get(merkle.NodeId(level, i + 1))) is not None
        ]
        if not pairs:
            return nodes
        nodes.update({node: merkle.node_hash(left, right) for node, left, right in pairs})
        level += 1


async def test_appends_give_proofs_that_verify_against_signed_heads(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = LedgerKey(Ed25519PrivateKey.generate())
    for n in range(21):
        async with sessions() as session, session.begin():
            entry, appended = await LedgerStore(session).append(cloud_event(n))
            assert appended and entry.leaf_index == n
            if n == 12:
                await LedgerStore(session).sign_tree_head(key, datetime.now(UTC))
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        head = await store.sign_tree_head(key, datetime.now(UTC))
        assert head is not None and head.tree_size == 21
        head.verify(key.public)
        assert await store.sign_tree_head(key, datetime.now(UTC)) is None  # nothing new
        earlier = await store.tree_head(13)
        assert earlier is not None
    async with sessions() as session:
        store = LedgerStore(session)
        for index in (0, 7, 12, 20):
            stored = await store.entry(index)
            assert stored is not None
            assert stored.leaf_hash == merkle.leaf_hash(stored.event_bytes)
            proof = await store.inclusion_proof(index, 21)
            merkle.verify_inclusion(index, 21, stored.leaf_hash, proof, head.root_hash)
        consistency = await store.consistency_proof(13, 21)
        merkle.verify_consistency(13, 21, earlier.root_hash, head.root_hash, consistency)
        trail = await store.trail(HOUSEHOLD)
        assert [e.leaf_index for e in trail] == list(range(21))  # every event names it
        mine = await store.trail(HOUSEHOLD, communes=frozenset({"30346"}))
        assert mine == []


async def test_a_redelivered_event_is_not_appended_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        first, appended = await LedgerStore(session).append(cloud_event(0))
        assert appended
    async with sessions() as session, session.begin():
        again, appended = await LedgerStore(session).append(cloud_event(0))
        assert (again.leaf_index, appended) == (first.leaf_index, False)
        assert await LedgerStore(session).size() == 1
    with pytest.raises(ConflictingEvent):
        async with sessions() as session, session.begin():
            await LedgerStore(session).append(cloud_event(0, altered=True))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_leaves SET event_bytes = event_bytes || event_bytes",
        "UPDATE ledger_leaves SET ce_type = 'forged'",
        "DELETE FROM ledger_leaves",
        "UPDATE ledger_nodes SET hash = hash",
        "DELETE FROM ledger_nodes",
        "DELETE FROM ledger_trail",
        "UPDATE ledger_tree_heads SET tree_size = tree_size + 1",
        "DELETE FROM ledger_tree_heads",
    ],
)
async def test_ledger_rows_cannot_be_changed_or_removed_by_sql(
    sessions: async_sessionmaker[AsyncSession], statement: str
) -> None:
    key = LedgerKey(Ed25519PrivateKey.generate())
    async with sessions() as session, session.begin():
        for n in range(2):  # two leaves: one interior node exists
            await LedgerStore(session).append(cloud_event(n))
        await LedgerStore(session).sign_tree_head(key, datetime.now(UTC))
    with pytest.raises(DBAPIError, match="append-only"):
        async with sessions() as session, session.begin():
            await session.execute(text(statement))
    async with sessions() as session:
        assert await LedgerStore(session).size() == 2


async def test_truncate_is_refused_on_postgresql(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no TRUNCATE")
    async with sessions() as session, session.begin():
        await LedgerStore(session).append(cloud_event(0))
    with pytest.raises(DBAPIError, match="append-only"):
        async with sessions() as session, session.begin():
            await session.execute(text("TRUNCATE ledger_trail, ledger_leaves"))
