"""Exports cite the latest signed head while it covers the subject's events, sign a new one
only when they are newer, and verify offline either way; the store's read path (one
statement per proof, read-only engine) gives the same proofs as the pure tree."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from services.audit.app import create as create_audit
from services.audit.ledger.store import LedgerStore
from services.audit.ledger.tree_heads import TreeHeadPublisher
from shared.db import create_engine, create_read_engine, is_sqlite, session_factory
from shared.events import CloudEvent
from shared.kafka import ensure_topics
from shared.ledger import merkle
from shared.ledger.signing import LedgerKey, LedgerPublicKey
from shared.ledger.verifier import verify_bundle
from shared.localbroker import EmbeddedBroker, free_port
from shared.migrations import upgrade_to_head
from tests.audit.integration.fixtures import audit_settings, cloud_event, eventually, publish
from tests.support import bearer, running_app, token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def topics(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A broker of this module's own: the tests count every leaf, so no event published by
    another module (which an audit consumer may not have committed past) may reach them."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(port=free_port(), log_path=log) as broker:
        await ensure_topics(broker.bootstrap)
        yield broker.bootstrap


@pytest.fixture
async def audit(database_url: str, topics: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The background publisher signs once at start (empty ledger: nothing) and then sleeps:
    # every head after that is one an export signed.
    settings = audit_settings(database_url, topics, data_dir).model_copy(
        update={"tree_head_interval_seconds": 3600}
    )
    async with running_app(create_audit(settings)) as client:
        yield client


def _registered(household: str) -> CloudEvent:
    data = {"household_id": household, "commune_code": "30337"}
    return cloud_event("households", "household_registered", household, data)


async def _export(client: httpx.AsyncClient, tok: str, subject: str, **params: Any) -> Any:
    response = await client.get(
        "/ledger/export", headers=bearer(tok), params={"subject": subject, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _head_sizes(client: httpx.AsyncClient, tok: str) -> list[int]:
    response = await client.get("/ledger/tree-heads", headers=bearer(tok))
    return [head["tree_size"] for head in response.json()["items"]]


async def test_an_export_cites_the_latest_head_unless_the_subject_has_newer_events(
    audit: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    inspector = token(data_dir, "inspector")
    first, other = str(uuid.uuid4()), str(uuid.uuid4())
    key = LedgerPublicKey.from_text((await audit.get("/ledger/public-key")).json()["pem"])

    async def leaves_at_least(n: int) -> bool:
        response = await audit.get(f"/trail/{other}", headers=bearer(inspector))
        mine = await audit.get(f"/trail/{first}", headers=bearer(inspector))
        return len(response.json()["items"]) + len(mine.json()["items"]) >= n

    await publish(topics, _registered(first), _registered(other))
    await eventually(lambda: leaves_at_least(2))
    signed = await _export(audit, inspector, first)  # no head yet: the export signs one
    assert signed["tree_head"]["tree_size"] == 2 and len(signed["events"]) == 1
    assert verify_bundle(signed, key).ok

    await publish(topics, _registered(other))  # another subject's event: the head still covers
    await eventually(lambda: leaves_at_least(3))
    cited = await _export(audit, inspector, first)
    assert cited["tree_head"] == signed["tree_head"]
    assert await _head_sizes(audit, inspector) == [2]  # nothing signed for it
    verdict = verify_bundle(cited, key)
    assert verdict.ok, verdict.failures

    await publish(topics, _registered(first))  # newer than the head: a new one is signed
    await eventually(lambda: leaves_at_least(4))
    newer = await _export(audit, inspector, first, from_size=2)
    assert newer["tree_head"]["tree_size"] == 4 and len(newer["events"]) == 2
    assert newer["earlier_tree_head"] == signed["tree_head"]
    verdict = verify_bundle(newer, key)
    assert verdict.ok, verdict.failures
    assert await _head_sizes(audit, inspector) == [4, 2]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_to_head("audit", database_url)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _event(n: int, subject: str) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.UUID(int=n + 1)),
        source="/ansinh/households",
        type="vn.ansinh.households.person_added.v1",
        subject=subject,
        time=f"2019-03-01T08:00:{n:02d}.000000Z",
        data={"household_id": subject, "commune_code": "30337", "n": n},
    )


async def test_the_read_path_gives_the_pure_trees_proofs_and_cannot_write(
    engine: AsyncEngine, database_url: str
) -> None:
    subjects = [str(uuid.uuid4()) for _ in range(3)]
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        entries = [(await store.append(_event(n, subjects[n % 3])))[0] for n in range(37)]
    leaves = [entry.leaf_hash for entry in entries]
    read_engine = create_read_engine(engine)
    try:
        async with async_sessionmaker(read_engine)() as session:
            store = LedgerStore(session)
            trail = await store.trail(subjects[1], below_size=30)
            assert [e.leaf_index for e in trail] == list(range(1, 30, 3))
            assert trail == entries[1:30:3]
            for size in (1, 2, 16, 29, 37):
                wanted = list(range(size))
                proofs = await store.inclusion_proofs(wanted, size)
                root = merkle.tree_root(size, _tree(leaves[:size]))
                assert await store.root(size) == root
                for index in wanted:
                    assert proofs[index] == await store.inclusion_proof(index, size)
                    merkle.verify_inclusion(index, size, leaves[index], proofs[index], root)
            with pytest.raises(merkle.ProofError, match="holds 37 leaves, not 38"):
                await store.inclusion_proofs([0, 5], 38)
            with pytest.raises(merkle.ProofError, match="holds 37 leaves, not 40"):
                await store.consistency_proof(3, 40)
            if is_sqlite(database_url):  # a read-only connection: writing fails
                with pytest.raises(DBAPIError, match="readonly"):
                    await session.execute(text("DELETE FROM ledger_tree_heads"))
    finally:
        if read_engine is not engine:
            await read_engine.dispose()


async def test_the_publisher_signs_only_when_asked_for_a_larger_tree(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    key = LedgerKey(Ed25519PrivateKey.generate())
    publisher = TreeHeadPublisher(sessions, key, 3600)
    assert await publisher.covering(1) is None  # an empty ledger
    async with sessions() as session, session.begin():
        for n in range(5):
            await LedgerStore(session).append(_event(n, "s"))
    head = await publisher.covering(3)
    assert head is not None and head.tree_size == 5 and publisher.latest == head
    async with sessions() as session, session.begin():
        await LedgerStore(session).append(_event(5, "s"))
    assert await publisher.covering(5) is head  # no new signature
    newer = await publisher.covering(6)
    assert newer is not None and newer.tree_size == 6
    newer.verify(key.public)
    assert await publisher.covering(7) is None
    async with sessions() as session:
        assert [h.tree_size for h in await LedgerStore(session).tree_heads()] == [6, 5]


def _tree(leaves: list[bytes]) -> dict[merkle.NodeId, bytes]:
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
