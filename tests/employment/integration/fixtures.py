"""Fixtures and helpers of the employment integration tests (real broker, real databases)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer

from services.employment.app import create
from services.employment.settings import EmploymentSettings
from services.households.events import HouseholdReclassified, HouseholdRegistered, PersonAdded
from shared.events import CloudEvent, new_event
from shared.localbroker import free_port
from tests.factories import COMMUNE_NHON_HUNG
from tests.support import bearer, running_app, token

T = TypeVar("T")


def employment_settings(
    database_url: str, bootstrap: str, data_dir: Path, **overrides: Any
) -> EmploymentSettings:
    return EmploymentSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        data_dir=data_dir,
        relay_poll_seconds=0.2,
        log_level="WARNING",
        kafka_session_timeout_ms=2000,
        **overrides,
    )


@asynccontextmanager
async def employment_app(
    database_url: str, topics: str, data_dir: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real employment app (database, relay, households projection) on the real broker.

    Each test module wraps it in its own ``employment`` fixture (no shared conftest edits).
    """
    app = create(employment_settings(database_url, topics, data_dir, **overrides))
    async with running_app(app) as client:
        yield client


def admin(data_dir: Path) -> dict[str, str]:
    return bearer(token(data_dir, "admin"))


def operator(
    data_dir: Path, *communes: str, services: tuple[str, ...] = ("employment",)
) -> dict[str, str]:
    return bearer(token(data_dir, "operator", services=services, communes=communes))


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 45.0) -> T:
    """The first non-None answer of ``probe``, asked again for ``within`` s (events travel)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        answer = await probe()
        if answer is not None:
            return answer
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the expected state was not reached in time")
        await asyncio.sleep(0.2)


async def publish(bootstrap: str, *events: CloudEvent) -> None:
    """Publish CloudEvents as a partner would, with a plain aiokafka producer."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                event.topic,
                value=event.value_bytes(),
                key=event.subject.encode(),
                headers=event.kafka_headers(),
            )
    finally:
        await producer.stop()


def household_events(
    *,
    commune: str = COMMUNE_NHON_HUNG,
    area: str = "rural",
    members: tuple[bool, ...] = (False,),
    poverty_class: str | None = None,
) -> tuple[str, list[str], list[CloudEvent]]:
    """A household's registration, members (ethnic-minority flags) and optional classification,
    as the households service publishes them: (household id, person ids, events)."""
    household_id = str(uuid.uuid4())
    events = [
        new_event(
            HouseholdRegistered(
                household_id=household_id,
                commune_code=commune,
                village="Ấp Hòa Thuận",
                area=area,
                registered_on=date(2019, 1, 15),
            ),
            subject=household_id,
        )
    ]
    persons = []
    for index, minority in enumerate(members):
        person_id = str(uuid.uuid4())
        persons.append(person_id)
        events.append(
            new_event(
                PersonAdded(
                    person_id=person_id,
                    household_id=household_id,
                    commune_code=commune,
                    citizen_pseudonym=None,
                    sex="female",
                    date_of_birth=date(1995, 3, 1),
                    ethnicity="Khmer" if minority else "Kinh",
                    ethnic_minority=minority,
                    relation_to_head="head" if index == 0 else "child",
                ),
                subject=household_id,
            )
        )
    if poverty_class is not None:
        events.append(reclassified(household_id, commune, "unclassified", poverty_class))
    return household_id, persons, events


def reclassified(
    household_id: str,
    commune: str,
    from_class: str,
    to_class: str,
    effective: date = date(2019, 1, 15),
) -> CloudEvent:
    return new_event(
        HouseholdReclassified(
            household_id=household_id,
            commune_code=commune,
            from_class=from_class,
            to_class=to_class,
            standard_code="QD-59-2015",
            reasons=["test"],
            effective_date=effective,
            basis="periodic_review",
        ),
        subject=household_id,
    )


async def register_worker(
    client: httpx.AsyncClient, headers: dict[str, str], person_id: str, on: str = "2019-02-01"
) -> dict[str, Any]:
    """Register the person as a worker once the households events have reached the service."""

    async def attempt() -> dict[str, Any] | None:
        response = await client.post(
            "/workers", json={"person_id": person_id, "registered_on": on}, headers=headers
        )
        if response.status_code == 422 and "not known" in response.text:
            return None
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return await eventually(attempt)


async def seeded_workers(
    client: httpx.AsyncClient,
    bootstrap: str,
    headers: dict[str, str],
    count: int,
    *,
    commune: str = COMMUNE_NHON_HUNG,
    poverty_class: str | None = None,
) -> list[str]:
    """``count`` registered workers, members of one household of ``commune``."""
    _household, persons, events = household_events(
        commune=commune, members=(False,) * count, poverty_class=poverty_class
    )
    await publish(bootstrap, *events)
    return [(await register_worker(client, headers, p))["worker_id"] for p in persons]


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """``app`` listening on a loopback port (uvicorn in this event loop); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped while starting")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
