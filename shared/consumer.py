"""Idempotent event consumer with a dead-letter topic.

For each record, in ONE database transaction: insert (consumer, event id) into the inbox
(already there: a duplicate, skipped), apply the handler, append any new events to the
service's outbox. Offsets are committed only after that commit, so a crash anywhere means
redelivery, and redelivery is harmless. A record that is not a valid event, or whose
handler keeps failing after bounded retries, goes to ``ansinh.dlq.<group>`` with the error
in headers; the consumer moves on. A database that cannot take writes (down, restarting,
full) is waited for instead: it says nothing about the event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from opentelemetry import trace
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import metrics
from shared.db import insert_or_ignore
from shared.events import CloudEvent, EventPayload, InvalidEvent, dlq_topic_for, parse_record
from shared.kafka import ensure_topics, new_consumer
from shared.observability import context_from_headers, get_logger, tracer
from shared.outbox import PlatformTables, append_events
from shared.prefetch import Prefetch, prefetch
from shared.problems import is_storage_unavailable

log = get_logger(__name__)

#: The longest wait between tries while the database cannot take writes.
STORAGE_RETRY_MAX_SECONDS = 5.0


@dataclass
class HandlerContext:
    """What a handler gets: the open transaction and a way to publish follow-up events."""

    session: AsyncSession
    event: CloudEvent
    tables: PlatformTables
    #: True while the event shares its batch's transaction with no savepoint of its own:
    #: any exception then undoes the whole batch, which is applied again one event (and
    #: one savepoint) at a time — a handler that contains its own failures need not here.
    batched: bool = False
    _pending: list[tuple[EventPayload, str]] = field(default_factory=list)

    def publish(self, payload: EventPayload, subject: str) -> None:
        """Queue an event; it is appended to the outbox in the handler's transaction."""
        self._pending.append((payload, subject))

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self.event.time.replace("Z", "+00:00"))


Handler = Callable[[HandlerContext, Any], Awaitable[None]]


@dataclass(frozen=True)
class On:
    """A subscription: events of ``ce_type`` are validated against ``model``, then handled.

    ``model`` is the consumer's own reading of the event (tolerant reader: only the fields
    it needs, extra fields ignored); services never import each other's event classes.
    tests/shared/unit/test_consumer_contracts.py checks each model against the published contract.
    """

    ce_type: str
    model: type[BaseModel]
    handler: Handler


#: ``On(ANY_EVENT_TYPE, Model, handler)`` takes every event no exact subscription names (the
#: audit ledger records all of them). An exact ``ce_type`` subscription always wins over it.
#: Its model sees ``data`` of many types, so it must accept any object (``extra="allow"``);
#: it has no contract of its own, so contract checks skip it.
ANY_EVENT_TYPE = "*"


@dataclass(frozen=True)
class _Prepared:
    """A record that parsed and validated, ready for its handler."""

    record: ConsumerRecord[Any, Any]
    event: CloudEvent
    payload: BaseModel
    handler: Handler


class _CommitOnRevoke(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        await self.owner.commit_processed(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info(
            "consumer.assigned", group=self.owner.group_id, partitions=[str(tp) for tp in assigned]
        )


class EventConsumer:
    """One consumer group of one service: ``handlers`` maps CloudEvents type to handler.

    An event whose type has no subscription goes to the :data:`ANY_EVENT_TYPE` subscription
    if there is one, and is otherwise counted as ignored.
    """

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        topics: Sequence[str],
        handlers: Sequence[On],
        sessions: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        bootstrap: str,
        producer: AIOKafkaProducer,
        batch_size: int = 200,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        session_timeout_ms: int = 10_000,
        prefetch: Sequence[Prefetch] = (),
        paused: Callable[[], bool] | None = None,
    ) -> None:
        self.service = service
        #: While it answers True, nothing is fetched: records wait in the broker.
        self.paused = paused
        self.prefetch = list(prefetch)
        self.group_id = group_id
        self.topics = list(topics)
        self.handlers = {on.ce_type: on for on in handlers}
        self.sessions = sessions
        self.tables = tables
        self.bootstrap = bootstrap
        self.producer = producer
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.session_timeout_ms = session_timeout_ms
        self.dlq_topic = dlq_topic_for(group_id)
        self._consumer: AIOKafkaConsumer | None = None
        self._processed: dict[TopicPartition, int] = {}
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._tracer = tracer(service)

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, [self.dlq_topic])
        self._consumer = new_consumer(
            self.bootstrap,
            group_id=self.group_id,
            client_id=f"ansinh-{self.service}",
            topics=(),
            session_timeout_ms=self.session_timeout_ms,
        )
        self._consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.group_id}")

    async def stop(self) -> None:
        """Finish the record in hand, commit what was processed, leave the group."""
        self._stopping = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=30)
        if self._consumer is not None:
            await self.commit_processed()
            await self._consumer.stop()
            self._consumer = None

    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stopping:
            self._hold_while_paused()
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self.batch_size)
            except Exception as exc:  # broker hiccup: keep polling
                log.warning("consumer.poll_failed", group=self.group_id, error=str(exc))
                await asyncio.sleep(1)
                continue
            for tp, records in batches.items():
                if self._stopping:
                    break
                if self.paused is not None and self.paused():  # read them again when it holds
                    self._consumer.seek(tp, records[0].offset)
                    continue
                done = await self.process_batch(records)
                if done:
                    self._processed[tp] = records[done - 1].offset + 1
            if batches:
                await self.commit_processed()
                await self._observe_lag()

    def _hold_while_paused(self) -> None:
        # Paused partitions, not a loop without polls: polling goes on, so the group keeps
        # this member (max.poll.interval) and partitions assigned meanwhile are held too.
        assert self._consumer is not None
        assigned = self._consumer.assignment()
        if self.paused is not None and self.paused():
            self._consumer.pause(*assigned)
        elif paused := self._consumer.paused():
            self._consumer.resume(*paused)

    async def commit_processed(self, partitions: Sequence[TopicPartition] | None = None) -> None:
        if self._consumer is None:
            return
        offsets = {
            tp: off for tp, off in self._processed.items() if partitions is None or tp in partitions
        }
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except Exception as exc:  # the next owner re-reads from the last commit; inbox dedups
            log.warning("consumer.commit_failed", group=self.group_id, error=str(exc))
        for tp in offsets:
            if partitions is not None:
                self._processed.pop(tp, None)

    async def _observe_lag(self) -> None:
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            with contextlib.suppress(Exception):
                position = await self._consumer.position(tp)
                metrics.CONSUMER_LAG.labels(
                    service=self.service,
                    group=self.group_id,
                    topic=tp.topic,
                    partition=str(tp.partition),
                ).set(max(0, highwater - position))

    async def process(self, record: ConsumerRecord[Any, Any]) -> str:
        """Apply one record; return its outcome (applied, duplicate, ignored, dead_lettered)."""
        outcomes: list[str] = []
        await self.process_batch([record], outcomes)
        return outcomes[0]

    async def process_batch(
        self, records: Sequence[ConsumerRecord[Any, Any]], outcomes: list[str] | None = None
    ) -> int:
        """Apply records of one partition in order; return how many (a prefix) were handled.

        The applicable events are first applied together in ONE transaction, their inbox
        rows written by one statement: a batch costs one commit and no per-event
        savepoints. If anything in it fails, nothing of it is applied and the batch is
        applied again event by event, each inside its own savepoint: an event whose handler
        fails stops that run there, the events before it commit, it is retried alone (then
        dead-lettered), and the run goes on after it — per-partition order is kept.
        """
        outcomes = [] if outcomes is None else outcomes
        pending: list[_Prepared] = []
        for record in records:
            prepared = await self._prepare(record, outcomes)
            if prepared is not None:
                pending.append(prepared)
        failed_together: str | None = None  # the event whose handler failed the batch
        if pending and not self._stopping:
            applied, failed_together = await self._apply_together(pending, outcomes)
            if applied:
                pending = []
        while pending and not self._stopping:
            committed, failed = await self._apply_run(pending, outcomes)
            pending = pending[committed:]
            if failed and pending:
                tried = 2 if pending[0].event.id == failed_together else 1
                outcome = await self._apply_with_retries(pending[0], tried=tried)
                if outcome is None:  # stopped while the database was unavailable
                    break
                outcomes.append(outcome)
                pending = pending[1:]
        # Offsets may only move past the first record not yet applied.
        return records.index(pending[0].record) if pending else len(records)

    async def _prepare(
        self, record: ConsumerRecord[Any, Any], outcomes: list[str]
    ) -> _Prepared | None:
        """Parse and validate; invalid records are dead-lettered, unknown types ignored."""
        try:
            event = parse_record(record.headers, record.value)
        except InvalidEvent as exc:
            outcomes.append(await self._dead_letter(record, exc, attempts=0, ce_type="invalid"))
            return None
        subscription = self.handlers.get(event.type) or self.handlers.get(ANY_EVENT_TYPE)
        if subscription is None:
            outcomes.append(self._count(event.type, "ignored"))
            return None
        try:
            payload = subscription.model.model_validate(event.data)
        except ValidationError as exc:
            error = InvalidEvent(f"data does not match {event.type}: {exc}")
            outcomes.append(await self._dead_letter(record, error, attempts=0, ce_type=event.type))
            return None
        return _Prepared(record, event, payload, subscription.handler)

    @contextlib.contextmanager
    def _observed(self, item: _Prepared) -> Any:
        """A consumer span continuing the producer's trace, and the event bound to the logs."""
        parent = context_from_headers(item.event.traceparent, item.event.tracestate)
        with (
            self._tracer.start_as_current_span(
                f"{item.record.topic} process",
                context=parent,
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.consumer.group.name": self.group_id,
                    "messaging.message.id": item.event.id,
                    "cloudevents.event_type": item.event.type,
                },
            ),
            structlog.contextvars.bound_contextvars(
                event_id=item.event.id, event_type=item.event.type, consumer_group=self.group_id
            ),
        ):
            yield

    async def _apply_together(
        self, items: Sequence[_Prepared], outcomes: list[str]
    ) -> tuple[bool, str | None]:
        """All items in one transaction without savepoints: (True, None) when it committed.
        Otherwise nothing is applied, so that the caller applies them one savepoint at a
        time: (False, the id of the event whose handler failed, if one did — its attempt)."""
        results: list[bool] = []
        culprit: str | None = None
        try:
            async with self.sessions() as session, session.begin():
                fresh = await self._record_all_in_inbox(session, [i.event for i in items])
                new = [i.event for i in items if i.event.id in fresh]
                await prefetch(session, self.prefetch, new)
                for item in items:
                    with self._observed(item):
                        if item.event.id not in fresh:  # applied before, or earlier in the run
                            results.append(False)
                            continue
                        fresh.discard(item.event.id)
                        culprit = item.event.id
                        await self._handle(session, item, batched=True)
                        culprit = None
                        results.append(True)
        except Exception as exc:  # a handler or the commit failed: find which, one by one
            log.warning(
                "consumer.batch_isolating", group=self.group_id, error=repr(exc), event_id=culprit
            )
            return False, culprit
        for item, applied in zip(items, results, strict=True):
            outcomes.append(self._count(item.event.type, "applied" if applied else "duplicate"))
        return True, None

    async def _apply_run(self, items: Sequence[_Prepared], outcomes: list[str]) -> tuple[int, bool]:
        """Apply items in one transaction until one fails; return (committed, a failure?)."""
        results: list[bool] = []
        failed = False
        try:
            async with self.sessions() as session, session.begin():
                for item in items:
                    with self._observed(item):
                        try:
                            async with session.begin_nested():
                                results.append(await self._apply_in(session, item))
                        except Exception as exc:  # retried alone after the prefix commits
                            log.warning("consumer.handler_failed", attempt=1, error=repr(exc))
                            failed = True
                            break
        except Exception as exc:  # the commit itself failed: nothing of this run applied
            log.warning("consumer.batch_failed", group=self.group_id, error=repr(exc))
            return 0, True
        for item, applied in zip(items, results, strict=False):
            outcomes.append(self._count(item.event.type, "applied" if applied else "duplicate"))
        return len(results), failed

    async def _apply_with_retries(self, item: _Prepared, tried: int = 0) -> str | None:
        """Attempts ``tried + 1`` .. ``max_attempts`` alone; then the dead-letter topic.

        While the database itself cannot take the write (down, restarting, full) the event
        is not at fault: it is tried again, with back-off up to ``STORAGE_RETRY_MAX_SECONDS``
        and without using up attempts, until it applies. None: the consumer stopped first,
        nothing was applied, the record is read again later.
        """
        last_error: Exception | None = None
        if tried:
            await asyncio.sleep(self.backoff_seconds)
        attempt, waits = tried + 1, 0
        while True:
            with self._observed(item):
                try:
                    async with self.sessions() as session, session.begin():
                        applied = await self._apply_in(session, item)
                    return self._count(item.event.type, "applied" if applied else "duplicate")
                except Exception as exc:  # handler or database failure: retry, then dead-letter
                    last_error = exc
                    log.warning("consumer.handler_failed", attempt=attempt, error=repr(exc))
            if is_storage_unavailable(last_error):
                if self._stopping:
                    return None
                waits += 1
                await asyncio.sleep(
                    min(STORAGE_RETRY_MAX_SECONDS, self.backoff_seconds * 2 ** min(waits, 8))
                )
                continue
            if attempt >= max(self.max_attempts, tried + 1):
                break
            await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            attempt += 1
        return await self._dead_letter(
            item.record, last_error, attempts=self.max_attempts, ce_type=item.event.type
        )

    async def _apply_in(self, session: AsyncSession, item: _Prepared) -> bool:
        """Inbox row, handler effects and follow-up events, in the caller's transaction."""
        if not await self._record_in_inbox(session, item.event):
            return False
        await self._handle(session, item)
        return True

    async def _handle(
        self, session: AsyncSession, item: _Prepared, *, batched: bool = False
    ) -> None:
        """The handler's effects and its follow-up events, in the caller's transaction."""
        context = HandlerContext(
            session=session, event=item.event, tables=self.tables, batched=batched
        )
        await item.handler(context, item.payload)
        await append_events(session, self.tables, context._pending)

    async def _record_in_inbox(self, session: AsyncSession, event: CloudEvent) -> bool:
        statement = insert_or_ignore(session, self.tables.inbox).values(
            consumer=self.group_id, event_id=event.id, ce_type=event.type
        )
        result = await session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _record_all_in_inbox(
        self, session: AsyncSession, events: Sequence[CloudEvent]
    ) -> set[str]:
        """Inbox rows for ``events`` in one statement; the ids not there before."""
        rows: dict[str, dict[str, str]] = {}
        for e in events:  # a repeated id: one row, its first occurrence's
            rows.setdefault(e.id, {"consumer": self.group_id, "event_id": e.id, "ce_type": e.type})
        inbox = self.tables.inbox
        statement = (
            insert_or_ignore(session, inbox).values(list(rows.values())).returning(inbox.c.event_id)
        )
        return set((await session.execute(statement)).scalars())

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], error: Exception, *, attempts: int, ce_type: str
    ) -> str:
        headers = [
            *(record.headers or ()),
            ("dlq_error", str(error)[:2000].encode()),
            ("dlq_error_type", type(error).__name__.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
        ]
        while True:  # a dead letter must not be lost: retry until the broker takes it
            try:
                await self.producer.send_and_wait(
                    self.dlq_topic, value=record.value, key=record.key, headers=headers
                )
                break
            except Exception as exc:
                log.error("consumer.dead_letter_failed", error=str(exc))
                await asyncio.sleep(1)
        log.error(
            "consumer.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=str(error),
            error_type=type(error).__name__,
        )
        metrics.DEAD_LETTERS.labels(service=self.service, group=self.group_id).inc()
        return self._count(ce_type, "dead_lettered")

    def _count(self, ce_type: str, outcome: str) -> str:
        metrics.EVENTS_CONSUMED.labels(
            service=self.service, group=self.group_id, type=ce_type, outcome=outcome
        ).inc()
        return outcome
