"""Transactional outbox and its relay.

A service never publishes inside a request: it appends events to its ``outbox`` table in
the same transaction as the state change (:func:`append_event`). The relay publishes
unsent rows in outbox order with record key = aggregate id and marks them sent, so
delivery is at-least-once and per-aggregate ordered. A commit that appended events wakes
the relay at once; a slow poll covers commits made by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from shared import metrics
from shared.db import BigIntPK
from shared.events import CloudEvent, EventPayload, encode_data, new_event
from shared.observability import context_from_headers, current_trace_headers, get_logger, tracer

log = get_logger(__name__)


class PlatformTables:
    """The outbox and inbox tables, added to a service's own metadata."""

    def __init__(self, metadata: MetaData) -> None:
        self.outbox = Table(
            "outbox",
            metadata,
            Column("seq", BigIntPK, primary_key=True, autoincrement=True),
            Column("event_id", String(36), nullable=False, unique=True),
            Column("topic", String(200), nullable=False),
            Column("ce_type", String(200), nullable=False),
            Column("ce_source", String(200), nullable=False),
            Column("ce_subject", String(200), nullable=False),
            Column("ce_time", String(40), nullable=False),
            Column("ce_dataschema", String(400)),
            Column("traceparent", String(100)),
            Column("tracestate", String(500)),
            Column("data", Text, nullable=False),
            Column(
                "created_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            Column("sent_at", DateTime(timezone=True)),
        )
        unsent = self.outbox.c.sent_at.is_(None)
        Index("ix_outbox_unsent", self.outbox.c.seq, sqlite_where=unsent, postgresql_where=unsent)
        self.inbox = Table(
            "inbox",
            metadata,
            Column("consumer", String(200), nullable=False),
            Column("event_id", String(36), nullable=False),
            Column("ce_type", String(200), nullable=False),
            Column(
                "processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
        )


def outbox_row(cloud_event: CloudEvent) -> dict[str, Any]:
    return {
        "event_id": cloud_event.id,
        "topic": cloud_event.topic,
        "ce_type": cloud_event.type,
        "ce_source": cloud_event.source,
        "ce_subject": cloud_event.subject,
        "ce_time": cloud_event.time,
        "ce_dataschema": cloud_event.dataschema,
        "traceparent": cloud_event.traceparent,
        "tracestate": cloud_event.tracestate,
        "data": encode_data(cloud_event.data).decode(),
    }


def row_to_event(row: Any, trace: Mapping[str, str] | None = None) -> CloudEvent:
    """The event an outbox row holds; ``trace`` headers, if given, replace the recorded ones."""
    trace = trace or {}
    return CloudEvent(
        id=row.event_id,
        source=row.ce_source,
        type=row.ce_type,
        subject=row.ce_subject,
        time=row.ce_time,
        data=json.loads(row.data),
        dataschema=row.ce_dataschema,
        traceparent=trace.get("traceparent", row.traceparent),
        tracestate=trace.get("tracestate", row.tracestate),
    )


async def append_events(
    session: AsyncSession,
    tables: PlatformTables,
    events: Sequence[tuple[EventPayload, str]],
    *,
    time: datetime | None = None,
) -> list[CloudEvent]:
    """Append (payload, subject) pairs to the outbox inside the caller's transaction."""
    trace_headers = current_trace_headers()
    built = [
        new_event(payload, subject=subject, time=time, trace=trace_headers)
        for payload, subject in events
    ]
    if built:
        await session.execute(insert(tables.outbox), [outbox_row(ce) for ce in built])
        session.info["outbox_pending"] = True
    return built


async def append_event(
    session: AsyncSession,
    tables: PlatformTables,
    payload: EventPayload,
    subject: str,
    *,
    time: datetime | None = None,
) -> CloudEvent:
    return (await append_events(session, tables, [(payload, subject)], time=time))[0]


@event.listens_for(Session, "after_commit")
def _wake_relay_after_commit(session: Session) -> None:
    if session.info.pop("outbox_pending", False):
        waker: Callable[[], None] | None = session.info.get("outbox_waker")
        if waker is not None:
            waker()


@event.listens_for(Session, "after_rollback")
def _forget_pending_after_rollback(session: Session) -> None:
    session.info.pop("outbox_pending", None)


class OutboxRelay:
    """Publishes a service's outbox to Kafka, in order, at least once."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        tables: PlatformTables,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
    ) -> None:
        self.service = service
        self.engine = engine
        self.tables = tables
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._tracer = tracer(service)
        self.published = 0

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=30)
            self._task = None

    async def run(self) -> None:
        async with self._leadership():
            failures = 0
            while not self._stopping:
                try:
                    published = await self.publish_batch()
                    failures = 0
                except Exception as exc:  # broker down, database busy: back off and retry
                    failures += 1
                    log.warning("outbox.publish_failed", error=str(exc), attempt=failures)
                    published = 0
                    await self._sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
                    continue
                if published < self.batch_size:
                    await self._sleep(self.poll_seconds)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()

    @contextlib.asynccontextmanager
    async def _leadership(self) -> Any:
        """On PostgreSQL only one replica relays (advisory lock); SQLite has one process."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        key = zlib.crc32(f"ansinh-relay-{self.service}".encode())
        async with self.engine.connect() as conn:
            while not self._stopping:
                got = (await conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({key})")).scalar()
                await conn.commit()
                if got:
                    break
                await self._sleep(self.poll_seconds * 5)
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    await conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")

    async def publish_batch(self) -> int:
        """Publish up to batch_size unsent events; return how many were published."""
        outbox = self.tables.outbox
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox)
                    .where(outbox.c.sent_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self.batch_size)
                )
            ).all()
            backlog = await outbox_backlog(conn, self.tables)
        metrics.OUTBOX_BACKLOG.labels(service=self.service).set(backlog)
        if not rows:
            return 0
        with metrics.RELAY_BATCH_SECONDS.labels(service=self.service).time():
            futures = [await self._send(row) for row in rows]
            await asyncio.gather(*futures)
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_([r.seq for r in rows]))
                    .values(sent_at=datetime.now(UTC))
                )
        for row in rows:
            metrics.EVENTS_PUBLISHED.labels(service=self.service, type=row.ce_type).inc()
        metrics.OUTBOX_BACKLOG.labels(service=self.service).set(max(0, backlog - len(rows)))
        self.published += len(rows)
        return len(rows)

    async def _send(self, row: Any) -> asyncio.Future[Any]:
        # The publish span continues the trace recorded with the row; the event carries the
        # span's own headers, so a consumer's span is the publish span's child.
        parent = context_from_headers(row.traceparent, row.tracestate)
        with self._tracer.start_as_current_span(
            f"{row.topic} publish",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": row.topic,
                "messaging.message.id": row.event_id,
                "cloudevents.event_type": row.ce_type,
            },
        ):
            ce = row_to_event(row, trace=current_trace_headers())
            return await self.producer.send(
                ce.topic,
                value=ce.value_bytes(),
                key=ce.subject.encode(),
                headers=ce.kafka_headers(),
            )


async def outbox_backlog(conn: AsyncConnection, tables: PlatformTables) -> int:
    """How many outbox rows are not yet published."""
    outbox = tables.outbox
    query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    return int((await conn.execute(query)).scalar_one())


def recorded_since(tables: PlatformTables, since: datetime, dialect: str) -> ColumnElement[bool]:
    """Outbox rows recorded at or after ``since``, counted in whole seconds (UTC).

    Whole seconds because SQLite's ``CURRENT_TIMESTAMP`` has no finer resolution; a row
    of the same second as ``since`` is included, never missed.
    """
    moment = since.astimezone(UTC).replace(microsecond=0)
    created_at = tables.outbox.c.created_at
    if dialect == "sqlite":  # text 'YYYY-MM-DD HH:MM:SS' in UTC; compare normalised text
        return func.datetime(created_at) >= moment.strftime("%Y-%m-%d %H:%M:%S")
    return created_at >= moment


async def mark_all_unsent(
    engine: AsyncEngine, tables: PlatformTables, *, since: datetime | None = None
) -> int:
    """Queue the outbox history again (all of it, or the rows recorded since ``since``).

    For consumers that missed events: the embedded broker forgot them on restart, or a
    topic was reset. Consumers' inboxes skip events they already applied. Returns how many
    rows were queued; wake the relay afterwards to publish them at once.
    """
    statement = update(tables.outbox).values(sent_at=None)
    if since is not None:
        statement = statement.where(recorded_since(tables, since, engine.dialect.name))
    async with engine.begin() as conn:
        result = await conn.execute(statement)
    return int(result.rowcount or 0)
