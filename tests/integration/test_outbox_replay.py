"""POST /admin/outbox/replay on the real households app, broker and databases: the outbox is
published again (all of it, or what was recorded since a time), consumers apply nothing twice,
and only admins may ask for it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.households.app import create
from services.households.models import platform
from shared.db import create_engine
from shared.events import topic_for
from tests import factories
from tests.households.integration.test_review import Office
from tests.support import bearer, households_settings, read_events, running_app, token

pytestmark = pytest.mark.integration

TOPIC = topic_for("households")
RECLASSIFIED = "vn.ansinh.households.household_reclassified.v1"
COMMUNE = factories.COMMUNE_NHON_HUNG
outbox = platform.outbox


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A second, plain connection to the service's database, to see its outbox as it is."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    deadline = asyncio.get_running_loop().time() + 30
    value = await check()
    while not done(value) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        value = await check()
    return value


async def unsent(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def outbox_ids(engine: AsyncEngine, subject: str | None = None) -> dict[str, str]:
    """Event id → type of the outbox rows (of one subject)."""
    query = select(outbox.c.event_id, outbox.c.ce_type)
    if subject is not None:
        query = query.where(outbox.c.ce_subject == subject)
    async with engine.connect() as conn:
        return {row.event_id: row.ce_type for row in await conn.execute(query)}


async def poor_households(client: httpx.AsyncClient, data_dir: Path) -> int:
    response = await client.get(
        f"/communes/{COMMUNE}/poverty-rates", headers=bearer(token(data_dir))
    )
    assert response.status_code == 200, response.text
    return int(response.json()["poor"])


async def duplicates_skipped(client: httpx.AsyncClient) -> float:
    """Reclassifications the class-count consumer recognised as already applied (/metrics)."""
    exposition = (await client.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "ansinh_events_consumed_total"
        and sample.labels.get("service") == "households"
        and sample.labels.get("group") == "households.class-counts"
        and sample.labels.get("type") == RECLASSIFIED
        and sample.labels.get("outcome") == "duplicate"
    )


async def test_replay_republishes_everything_and_consumers_apply_nothing_twice(
    database_url: str, topics: str, data_dir: Path, engine: AsyncEngine
) -> None:
    async with running_app(create(households_settings(database_url, topics, data_dir))) as client:
        office = Office(client, data_dir)
        await office.make_poor(await office.household())
        assert await eventually(lambda: poor_households(client, data_dir), lambda n: n == 1) == 1
        assert await eventually(lambda: unsent(engine), lambda n: n == 0) == 0
        events = await outbox_ids(engine)
        reclassifications = sum(1 for ce_type in events.values() if ce_type == RECLASSIFIED)
        assert reclassifications >= 1
        skipped_before = await duplicates_skipped(client)

        response = await client.post("/admin/outbox/replay", headers=bearer(token(data_dir)))

        assert response.status_code == 202, response.text
        body = response.json()
        assert body["service"] == "households"
        assert body["since"] is None
        assert body["events"] == len(events)
        assert body["backlog"] >= 0
        assert await eventually(lambda: unsent(engine), lambda n: n == 0) == 0
        # Every event is on the topic twice now, with the same ce_id: once, and once again.
        published = await read_events(
            topics, TOPIC, count=2 * len(events), predicate=lambda e: e.id in events
        )
        copies = Counter(event.id for event in published)
        assert set(copies) == set(events)
        assert min(copies.values()) >= 2
        # The consumer saw the repeats, its inbox skipped them: the count did not move.
        skipped = await eventually(
            lambda: duplicates_skipped(client), lambda n: n >= skipped_before + reclassifications
        )
        assert skipped >= skipped_before + reclassifications
        assert await poor_households(client, data_dir) == 1


async def test_replay_since_queues_only_later_events_and_only_admins_may_ask(
    database_url: str, topics: str, data_dir: Path, engine: AsyncEngine
) -> None:
    async with running_app(create(households_settings(database_url, topics, data_dir))) as client:
        office = Office(client, data_dir)
        earlier = await office.household()
        assert await eventually(lambda: unsent(engine), lambda n: n == 0) == 0
        await asyncio.sleep(1.5)  # SQLite records whole seconds: keep the two apart
        since = datetime.now(UTC)
        later = await office.household()
        assert await eventually(lambda: unsent(engine), lambda n: n == 0) == 0
        later_events = await outbox_ids(engine, later)
        assert later_events and await outbox_ids(engine, earlier)

        replay = "/admin/outbox/replay"
        for role, scope in (
            ("inspector", {}),
            ("partner", {}),
            ("operator", {"services": ("households",), "communes": ("*",)}),
        ):
            refused = await client.post(
                replay,
                params={"since": since.isoformat()},
                headers=bearer(token(data_dir, role, **scope)),  # type: ignore[arg-type]
            )
            assert refused.status_code == 403, (role, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
        assert (await client.post(replay)).status_code == 401
        naive = await client.post(
            replay, params={"since": "2025-07-01T08:00:00"}, headers=bearer(token(data_dir))
        )
        assert naive.status_code == 422
        assert naive.json()["errors"][0]["field"] == "query.since"
        assert await unsent(engine) == 0  # nothing refused queued anything

        response = await client.post(
            replay, params={"since": since.isoformat()}, headers=bearer(token(data_dir))
        )

        assert response.status_code == 202, response.text
        assert response.json()["events"] == len(later_events)
        assert datetime.fromisoformat(response.json()["since"]) == since
        published = await read_events(
            topics, TOPIC, count=2 * len(later_events), predicate=lambda e: e.id in later_events
        )
        assert Counter(event.id for event in published) == dict.fromkeys(later_events, 2)
        future = await client.post(
            replay, params={"since": "2999-01-01T00:00:00Z"}, headers=bearer(token(data_dir))
        )
        assert future.status_code == 202 and future.json()["events"] == 0
