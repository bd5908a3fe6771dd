"""Helpers for the audit service's integration tests (real broker, real apps)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer

from services.audit.settings import AuditSettings
from shared.events import CloudEvent, dataschema_for, rfc3339, topic_for

T = TypeVar("T")


def audit_settings(
    database_url: str, bootstrap: str, data_dir: Path, **overrides: Any
) -> AuditSettings:
    return AuditSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        data_dir=data_dir,
        relay_poll_seconds=0.2,
        kafka_session_timeout_ms=2000,
        log_level="WARNING",
        tree_head_interval_seconds=0.2,
        **overrides,
    )


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 60.0) -> T:
    """The first truthy result of ``probe``, polled until ``within`` seconds have passed."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s (last: {result!r})")
        await asyncio.sleep(0.2)


def cloud_event(
    service: str, name: str, subject: str, data: dict[str, Any], event_id: str | None = None
) -> CloudEvent:
    """A well-formed An Sinh CloudEvent, as another service's relay would publish it."""
    ce_type = f"vn.ansinh.{service}.{name}.v1"
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=f"/ansinh/{service}",
        type=ce_type,
        subject=subject,
        time=rfc3339(datetime.now(UTC)),
        data=data,
        dataschema=dataschema_for(ce_type),
    )


async def publish(bootstrap: str, *events: CloudEvent) -> None:
    """Publish events in order with a plain aiokafka producer (record key = subject)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic_for(event.service),
                value=event.value_bytes(),
                key=event.subject.encode(),
                headers=event.kafka_headers(),
            )
    finally:
        await producer.stop()
