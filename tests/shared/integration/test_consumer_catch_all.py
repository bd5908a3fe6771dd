"""A catch-all subscription takes every event no exact subscription names, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer import ANY_EVENT_TYPE, EventConsumer, HandlerContext, On
from shared.db import create_engine, new_metadata, session_factory
from shared.events import CloudEvent
from shared.outbox import PlatformTables

pytestmark = pytest.mark.integration

REGISTERED = "vn.ansinh.households.household_registered.v1"
CARD_ISSUED = "vn.ansinh.insurance.card_issued.v1"


class AnyData(BaseModel):
    model_config = ConfigDict(extra="allow")


class Registered(BaseModel):
    household_id: str


metadata: MetaData = new_metadata()
tables = PlatformTables(metadata)
seen = Table(
    "seen",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("handled_by", String(20)),
)


async def exact(ctx: HandlerContext, event: Registered) -> None:
    await ctx.session.execute(insert(seen).values(event_id=ctx.event.id, handled_by="exact"))


async def catch_all(ctx: HandlerContext, event: AnyData) -> None:
    await ctx.session.execute(insert(seen).values(event_id=ctx.event.id, handled_by="catch-all"))


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def consumer(sessions: async_sessionmaker[AsyncSession], handlers: list[On]) -> EventConsumer:
    # process() needs no broker connection; the producer is only used for dead letters.
    return EventConsumer(
        service="test",
        group_id="test.catch-all",
        topics=[],
        handlers=handlers,
        sessions=sessions,
        tables=tables,
        bootstrap="127.0.0.1:1",
        producer=None,
    )


def record(event_id: str, ce_type: str, data: dict[str, Any]) -> ConsumerRecord[Any, Any]:
    event = CloudEvent(
        id=event_id,
        source="/ansinh/" + ce_type.split(".")[2],
        type=ce_type,
        subject="h-1",
        time="2019-03-01T08:00:00.000000Z",
        data=data,
    )
    return ConsumerRecord(
        "topic", 0, 0, 0, 0, b"h-1", event.value_bytes(), None, 3, 10, event.kafka_headers()
    )


async def handled(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        return {r.event_id: r.handled_by for r in await session.execute(select(seen))}


async def test_exact_subscriptions_win_and_the_catch_all_takes_the_rest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    both = consumer(
        sessions, [On(REGISTERED, Registered, exact), On(ANY_EVENT_TYPE, AnyData, catch_all)]
    )
    one, two = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
    assert await both.process(record(one, REGISTERED, {"household_id": "h-1"})) == "applied"
    assert await both.process(record(two, CARD_ISSUED, {"card_id": "c-1"})) == "applied"
    assert await both.process(record(two, CARD_ISSUED, {"card_id": "c-1"})) == "duplicate"
    assert await handled(sessions) == {one: "exact", two: "catch-all"}


async def test_without_a_catch_all_unknown_types_are_ignored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    only_exact = consumer(sessions, [On(REGISTERED, Registered, exact)])
    three = "00000000-0000-4000-8000-000000000003"
    assert await only_exact.process(record(three, CARD_ISSUED, {"card_id": "c-1"})) == "ignored"
    assert await handled(sessions) == {}
