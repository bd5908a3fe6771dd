"""Test support: real broker, real databases, real apps. Nothing of ours is mocked."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from asgi_lifespan import LifespanManager

from shared.auth import mint_token
from shared.events import CloudEvent, InvalidEvent, parse_record
from shared.localbroker import free_port

PG_ADMIN_DSN = os.environ.get("ANSINH_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO_ROOT = Path(__file__).resolve().parent.parent


def ensure_postgres_running() -> bool:
    """Start the machine's PostgreSQL cluster if it is down; True when it answers."""

    def ready() -> bool:
        return (
            subprocess.run(
                ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False
            ).returncode
            == 0
        )

    if ready():
        return True
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
            check=False,
        )
    for _ in range(30):
        if ready():
            return True
        subprocess.run(["sleep", "1"], check=False)
    return False


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"ansinh_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def secret_of(data_dir: Path, name: str = "jwt-hs256.key") -> str:
    return (data_dir / "secrets" / name).read_text().strip()


def token(
    data_dir: Path,
    role: str = "admin",
    *,
    services: tuple[str, ...] = (),
    communes: tuple[str, ...] = (),
    subject: str = "tester",
) -> str:
    from shared.auth import Role

    return mint_token(
        secret_of(data_dir), subject=subject, role=Role(role), services=services, communes=communes
    )


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


@asynccontextmanager
async def running_app(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app with its lifespan (database, relay, consumers) and an HTTP client."""
    async with LifespanManager(app, startup_timeout=90, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def read_records(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    timeout: float = 30.0,
    predicate: Callable[[ConsumerRecord[Any, Any]], bool] = lambda r: True,
) -> list[ConsumerRecord[Any, Any]]:
    """Raw records of a topic, read from the beginning by a plain aiokafka consumer."""
    # No consumer group: partitions are assigned by hand, so there is no group join to wait for.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    deadline = asyncio.get_running_loop().time() + timeout
    partitions = consumer.partitions_for_topic(topic) or set()
    while not partitions and asyncio.get_running_loop().time() < deadline:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await asyncio.sleep(0.2)
    if not partitions:
        await consumer.stop()
        return []
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    await consumer.seek_to_beginning()
    found: list[ConsumerRecord[Any, Any]] = []
    try:
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            found.extend(r for records in batches.values() for r in records if predicate(r))
    finally:
        await consumer.stop()
    return found


async def read_events(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    timeout: float = 30.0,
    predicate: Callable[[CloudEvent], bool] = lambda e: True,
) -> list[CloudEvent]:
    """Events of a topic (parsed by our envelope code) until ``count`` of them match."""

    def matches(record: ConsumerRecord[Any, Any]) -> bool:
        try:
            return predicate(parse_record(record.headers, record.value))
        except InvalidEvent:  # other tests put poison records on the shared topics
            return False

    records = await read_records(bootstrap, topic, count=count, timeout=timeout, predicate=matches)
    return [parse_record(r.headers, r.value) for r in records]


def households_settings(database_url: str, bootstrap: str, data_dir: Path, **overrides: Any) -> Any:
    """The households service's settings for a test: its database, the broker, quick polls."""
    from services.households.settings import HouseholdsSettings

    return HouseholdsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        data_dir=data_dir,
        relay_poll_seconds=0.2,
        log_level="WARNING",
        kafka_session_timeout_ms=2000,
        **overrides,
    )


__all__ = ["free_port"]
