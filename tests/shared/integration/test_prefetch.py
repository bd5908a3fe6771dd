"""Prefetching a consumer batch's rows (shared/prefetch.py) in a real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from services.housing.models import KnownHousehold
from shared.db import create_engine, session_factory
from shared.events import CloudEvent
from shared.migrations import upgrade_to_head
from shared.prefetch import Prefetch, lookup, prefetch

pytestmark = pytest.mark.integration

WANTED = [Prefetch(KnownHousehold, "household_id")]


def reclassified(household_id: str) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/ansinh/households",
        type="vn.ansinh.households.household_reclassified.v1",
        subject=household_id,
        time="2019-12-31T08:00:00Z",
        data={"household_id": household_id, "commune_code": "30502"},
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_to_head("housing", database_url)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def count_selects(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    return seen


async def test_a_batch_reads_its_rows_once_and_sees_what_its_handlers_add(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    known, new = str(uuid.uuid4()), str(uuid.uuid4())
    async with sessions() as session, session.begin():
        session.add(KnownHousehold(id=known, commune_code="30502", current_class="poor"))
    selects = count_selects(engine)
    async with sessions() as session, session.begin():
        await prefetch(session, WANTED, [reclassified(known), reclassified(new)])
        assert len(selects) == 1  # both keys in one query
        found = await lookup(session, KnownHousehold, known)
        assert found is not None and found.current_class == "poor"
        assert await lookup(session, KnownHousehold, new) is None
        assert len(selects) == 1  # answered from the prefetch, absent key included
        session.add(KnownHousehold(id=new, commune_code="30502", current_class="near_poor"))
        added = await lookup(session, KnownHousehold, new)  # asks the session again
        assert added is not None and added.current_class == "near_poor"
    async with sessions() as session:
        assert await lookup(session, KnownHousehold, new) is not None  # a plain get
        assert len(selects) == 3


async def test_outside_its_transaction_a_prefetch_answers_nothing(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    absent = str(uuid.uuid4())
    async with sessions() as session:
        async with session.begin():
            await prefetch(session, WANTED, [reclassified(absent)])
        async with session.begin():  # someone else created it in between
            async with sessions() as other, other.begin():
                other.add(KnownHousehold(id=absent, commune_code="30502"))
            assert await lookup(session, KnownHousehold, absent) is not None
