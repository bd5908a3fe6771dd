"""Kafka clients configured the same way in every service, and topic administration."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events import ALL_TOPICS


def new_producer(bootstrap: str, *, client_id: str, idempotent: bool = False) -> AIOKafkaProducer:
    """acks=all; idempotence only where the broker supports it (Tansu does not)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=5,
        max_batch_size=1_048_576,
        request_timeout_ms=30_000,
    )


def new_consumer(
    bootstrap: str,
    *,
    group_id: str,
    client_id: str,
    topics: Iterable[str],
    session_timeout_ms: int = 10_000,
) -> AIOKafkaConsumer:
    """Manual offset commits: offsets move only after the database transaction committed.

    Tansu holds a new member's JoinGroup for half the session timeout, so a short session
    timeout makes start-up fast on the embedded broker (tests use 2 s).
    """
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=None,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(100, session_timeout_ms // 4),
        metadata_max_age_ms=5_000,
    )


async def ensure_topics(
    bootstrap: str, topics: Iterable[str] = ALL_TOPICS, *, partitions: int = 3, replication: int = 1
) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="ansinh-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t, num_partitions=partitions, replication_factor=replication)
            for t in topics
            if t not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Return once the broker answers metadata requests; raise TimeoutError otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Exception | None = None
    while asyncio.get_running_loop().time() < deadline:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="ansinh-probe", request_timeout_ms=2_000
        )
        try:
            await admin.start()
            await admin.list_topics()
            return
        except (KafkaError, OSError) as exc:
            last = exc
            await asyncio.sleep(0.2)
        finally:
            await admin.close()
    raise TimeoutError(f"broker {bootstrap} not reachable: {last}")
