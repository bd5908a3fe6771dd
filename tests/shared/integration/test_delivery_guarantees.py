"""Nothing lost, nothing applied twice, bad events dead-lettered: real broker and databases."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from services.households.app import create
from services.households.events import HouseholdReclassified
from shared.consumer import EventConsumer, HandlerContext, On
from shared.db import create_engine, session_factory
from shared.events import CloudEvent, dlq_topic_for, new_event, topic_for
from shared.localbroker import free_port
from tests import factories
from tests.support import bearer, households_settings, read_events, read_records, running_app, token

pytestmark = pytest.mark.integration
TOPIC = topic_for("households")


def reclassified(commune: str = "30399") -> CloudEvent:
    payload = HouseholdReclassified(
        household_id=str(uuid.uuid4()),
        commune_code=commune,
        from_class="unclassified",
        to_class="poor",
        standard_code="QD-59-2015",
        reasons=["test"],
        effective_date="2019-12-10",
        basis="periodic_review",
    )
    return new_event(payload, subject=payload.household_id)


async def publish(
    bootstrap: str,
    *events: CloudEvent,
    value: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                TOPIC,
                value=event.value_bytes(),
                key=event.subject.encode(),
                headers=event.kafka_headers(),
            )
        if value is not None:
            await producer.send_and_wait(TOPIC, value=value, key=b"poison", headers=headers or [])
    finally:
        await producer.stop()


async def poor_count(client: httpx.AsyncClient, data_dir: Path, commune: str) -> int:
    response = await client.get(
        f"/communes/{commune}/poverty-rates", headers=bearer(token(data_dir))
    )
    return int(response.json()["poor"])


async def eventually(check, expected, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    value = await check()
    while value != expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        value = await check()
    return value


async def test_redelivered_event_is_applied_once(
    database_url: str, topics: str, data_dir: Path
) -> None:
    commune = f"3{uuid.uuid4().int % 10_000:04d}"
    event = reclassified(commune)
    async with running_app(create(households_settings(database_url, topics, data_dir))) as client:
        await publish(topics, event, event)  # the same ce_id twice: Kafka redelivery
        assert await eventually(lambda: poor_count(client, data_dir, commune), 1) == 1
        await publish(topics, event)  # and once more after it was applied
        await asyncio.sleep(1.5)
        assert await poor_count(client, data_dir, commune) == 1
    # A restart re-reads nothing twice either: offsets were committed after the database commit.
    async with running_app(create(households_settings(database_url, topics, data_dir))) as client:
        await asyncio.sleep(1.5)
        assert await poor_count(client, data_dir, commune) == 1


async def test_poison_events_go_to_the_dead_letter_topic_and_consumption_continues(
    database_url: str, topics: str, data_dir: Path
) -> None:
    commune = f"3{uuid.uuid4().int % 10_000:04d}"
    marker = uuid.uuid4().hex
    good = reclassified(commune)
    invalid_data = CloudEvent(
        **{**reclassified(commune).__dict__, "data": {"household_id": marker}}
    )
    async with running_app(create(households_settings(database_url, topics, data_dir))) as client:
        await publish(
            topics,
            invalid_data,
            value=b"not json " + marker.encode(),
            headers=[("ce_id", marker.encode())],
        )
        await publish(topics, good)
        assert await eventually(lambda: poor_count(client, data_dir, commune), 1) == 1
    dead = await read_records(
        topics,
        dlq_topic_for("households.class-counts"),
        count=2,
        predicate=lambda r: (
            marker.encode() in (r.value or b"") or r.value == invalid_data.value_bytes()
        ),
    )
    assert len(dead) == 2
    errors = {dict(r.headers)["dlq_error_type"].decode() for r in dead}
    assert errors == {"InvalidEvent"}
    for record in dead:
        headers = dict(record.headers)
        assert headers["dlq_original_topic"] == TOPIC.encode()
        assert headers["dlq_consumer_group"] == b"households.class-counts"
        assert int(headers["dlq_original_offset"]) >= 0


async def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    database_url: str, topics: str, tmp_path: Path
) -> None:
    """The mechanism itself, with a handler that always fails on one household."""
    from services.households.models import Base, platform
    from shared.migrations import upgrade_to_head

    await upgrade_to_head("households", database_url)
    engine = create_engine(database_url)
    attempts: list[str] = []
    failing, fine = reclassified(), reclassified()

    async def handler(ctx: HandlerContext, event: HouseholdReclassified) -> None:
        if event.household_id == failing.subject:
            attempts.append(event.household_id)
            raise RuntimeError("registry unavailable")

    group = f"test-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=topics)
    await producer.start()
    consumer = EventConsumer(
        service="households",
        group_id=group,
        topics=[TOPIC],
        handlers=[On(HouseholdReclassified.ce_type, HouseholdReclassified, handler)],
        sessions=session_factory(engine),
        tables=platform,
        bootstrap=topics,
        producer=producer,
        max_attempts=3,
        backoff_seconds=0.01,
        session_timeout_ms=2000,
    )
    await consumer.start()
    try:
        await publish(topics, failing, fine)
        dead = await read_records(
            topics,
            dlq_topic_for(group),
            count=1,
            timeout=30,
            predicate=lambda r: dict(r.headers).get("ce_id") == failing.id.encode(),
        )
        inbox: set[str] = set()
        for _ in range(100):
            inbox = await _inbox_ids(engine, group)
            if fine.id in inbox:
                break
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()
        await producer.stop()
        await engine.dispose()
    assert attempts == [failing.subject] * 3
    assert len(dead) == 1 and dict(dead[0].headers)["ce_id"] == failing.id.encode()
    assert dict(dead[0].headers)["dlq_attempts"] == b"3"
    assert b"registry unavailable" in dict(dead[0].headers)["dlq_error"]
    # The failing event left no trace; the one after it was applied.
    assert fine.id in inbox and failing.id not in inbox
    del Base


async def _inbox_ids(engine, group: str) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_id FROM inbox WHERE consumer = :g"), {"g": group}
        )
        return {r[0] for r in rows}


def _start_households(
    db_path: Path, data_dir: Path, bootstrap: str, port: int, relay: bool
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ANSINH_DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ANSINH_HOUSEHOLDS_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "ANSINH_HOUSEHOLDS_RUN_RELAY": str(relay).lower(),
        "KAFKA_SESSION_TIMEOUT_MS": "2000",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "services.households.app:create",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            assert process.poll() is None, "households exited during start-up"
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("households did not become ready")


async def test_killed_between_commit_and_publish_loses_nothing(
    topics: str, tmp_path: Path, data_dir: Path
) -> None:
    """kill -9 after the commit, before the relay ran: the next start publishes every event once."""
    db_path, port = tmp_path / "households.db", free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start_households(db_path, data_dir, topics, port, relay=False)
    try:
        await _wait_ready(url, process)
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.post(
                "/households", json=factories.household(members=2), headers=bearer(token(data_dir))
            )
        assert response.status_code == 201
        household_id = response.json()["household_id"]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (
        await read_events(
            topics, TOPIC, count=1, timeout=2, predicate=lambda e: e.subject == household_id
        )
        == []
    )

    process = _start_households(db_path, data_dir, topics, port, relay=True)
    try:
        await _wait_ready(url, process)
        events = await read_events(
            topics, TOPIC, count=3, timeout=20, predicate=lambda e: e.subject == household_id
        )
        await asyncio.sleep(1)
        again = await read_events(
            topics, TOPIC, count=4, timeout=2, predicate=lambda e: e.subject == household_id
        )
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert [e.type.split(".")[3] for e in events] == [
        "household_registered",
        "person_added",
        "person_added",
    ]
    assert len(again) == 3  # published once, not twice
