"""Tampering with the stored ledger — a byte of an event altered, the last or a middle leaf
deleted, two leaves swapped, the whole ledger rolled back to an older head — makes
``ansinh verify`` fail naming the first bad leaf index, makes the audit service not ready
(503 problem naming the check and the index, shown by ``ansinh status``) and holds new
events in the broker; once the rows are put back, the held event is consumed, nothing was
dead-lettered, and verify holds again. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.status import probe
from deploy.local.verify import LedgerReport, Trust, verify_ledger
from services.audit.app import create as create_audit
from shared.events import CloudEvent, dlq_topic_for
from shared.kafka import ensure_topics
from shared.localbroker import EmbeddedBroker, free_port
from tests.audit.browser.support import serving
from tests.audit.integration.fixtures import audit_settings, cloud_event, eventually, publish
from tests.audit.integration.tampering import Ledger, tampering
from tests.support import bearer, read_records, token

pytestmark = pytest.mark.integration

TAMPERINGS: dict[str, tuple[Callable[[Ledger], Awaitable[None]], int]] = {
    "a byte of an event altered": (lambda ledger: ledger.alter_byte(3), 3),
    "the last leaf deleted": (lambda ledger: ledger.delete_leaf(5), 5),
    "a middle leaf deleted": (lambda ledger: ledger.delete_leaf(2), 2),
    "two leaves swapped": (lambda ledger: ledger.swap(2, 4), 2),
    "rolled back to an older head": (lambda ledger: ledger.roll_back(4), 4),
}
#: Found by the service without a full pass: by its count of rows / the head it verified.
FOUND_BY_SERVICE_ROUND = {
    "the last leaf deleted",
    "a middle leaf deleted",
    "rolled back to an older head",
}
#: Found by verify without --full: its re-read of the last leaf it verified / its kept head.
FOUND_BY_VERIFY_RUN = {"the last leaf deleted", "rolled back to an older head"}


@pytest.fixture(scope="module")
async def topics(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A broker of this module's own: the dead-letter topic must hold only what these do."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(port=free_port(), log_path=log) as broker:
        await ensure_topics(broker.bootstrap)
        yield broker.bootstrap


def _registered() -> CloudEvent:
    household = str(uuid.uuid4())
    data = {
        "household_id": household,
        "commune_code": "30337",
        "village": "Ấp 1",
        "area": "rural",
        "registered_on": "2019-01-15",
    }
    return cloud_event("households", "household_registered", household, data)


def _verify(url: str, tok: str, data_dir: Path, *, full: bool = False) -> LedgerReport:
    with httpx.Client(timeout=60.0) as client:
        return verify_ledger(client, url, tok, data_dir, None, Trust(full=full))


async def _latest_size(http: httpx.AsyncClient, tok: str) -> int:
    response = await http.get("/ledger/tree-heads/latest", headers=bearer(tok))
    return int(response.json()["tree_size"]) if response.status_code == 200 else 0


async def _not_ready(http: httpx.AsyncClient) -> dict[str, Any] | None:
    response = await http.get("/readyz")
    if response.status_code != 503:
        return None
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def _is_leaf(http: httpx.AsyncClient, tok: str, event_id: str) -> bool:
    response = await http.get(
        "/ledger/proofs/inclusion", params={"event_id": event_id}, headers=bearer(tok)
    )
    return response.status_code == 200


@pytest.mark.parametrize("tampering_kind", list(TAMPERINGS))
async def test_tampering_is_named_by_verify_and_readiness_and_holds_events(
    database_url: str,
    topics: str,
    data_dir: Path,
    tampering_kind: str,
) -> None:
    tamper, bad = TAMPERINGS[tampering_kind]
    settings = audit_settings(
        database_url,
        topics,
        data_dir,
        ledger_check_interval_seconds=0.3,
        # An old leaf altered in place is found by a full pass: here every round is one.
        ledger_full_check_seconds=3600.0 if tampering_kind in FOUND_BY_SERVICE_ROUND else 0.0,
    )
    port = free_port()
    async with (
        serving(create_audit(settings), port) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        inspector = token(data_dir, "inspector")
        await publish(topics, *[_registered() for _ in range(4)])
        await eventually(lambda: _grown_to(http, inspector, 4))
        await publish(topics, *[_registered() for _ in range(2)])
        await eventually(lambda: _grown_to(http, inspector, 6))
        before = await asyncio.to_thread(_verify, url, inspector, data_dir)
        assert before.ok, before.verdict.failures
        # The service's own check must have verified head 6 before a rollback to 4 (it
        # knows no other head): a few of its 0.3 s rounds.
        await asyncio.sleep(1.5)

        async with tampering(database_url) as ledger:
            rows = await ledger.snapshot()
            await tamper(ledger)

        after = await asyncio.to_thread(
            _verify, url, inspector, data_dir, full=tampering_kind not in FOUND_BY_VERIFY_RUN
        )
        assert not after.ok
        assert any(f"first bad leaf index {bad}:" in f for f in after.verdict.failures), (
            after.verdict.failures
        )
        problem = await eventually(lambda: _not_ready(http))
        assert problem["status"] == 503 and problem["checks"]["ledger_integrity"] is False
        assert problem["failed_checks"][0]["check"] == "ledger_integrity"
        assert problem["failed_checks"][0]["first_bad_index"] == bad, problem
        with httpx.Client() as client:
            shown = await asyncio.to_thread(probe, client, "audit", port)
        assert not shown.ready and "ledger_integrity" in shown.state

        held = _registered()
        await publish(topics, held)
        async with tampering(database_url) as ledger:
            await ledger.restore(rows)
        await eventually(lambda: _ready(http))
        await eventually(lambda: _is_leaf(http, inspector, held.id))
        repaired = await asyncio.to_thread(_verify, url, inspector, data_dir)
        assert repaired.ok, repaired.verdict.failures
    dead = await read_records(topics, dlq_topic_for("audit.ledger"), count=1, timeout=3)
    assert dead == []


async def _grown_to(http: httpx.AsyncClient, tok: str, size: int) -> bool:
    return await _latest_size(http, tok) == size


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200
