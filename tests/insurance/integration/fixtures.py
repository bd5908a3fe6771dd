"""Helpers of the insurance integration tests: the real app, households events on the real
broker, and waiting for the consumer to have applied them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.households.events import HouseholdReclassified, HouseholdRegistered, PersonAdded
from services.insurance.app import create
from services.insurance.settings import InsuranceSettings
from shared.events import CloudEvent, new_event, parse_record, topic_for
from shared.localbroker import free_port
from tests.support import bearer, read_events, running_app, token

T = TypeVar("T")
VIETNAM = timedelta(hours=7)


def today() -> date:
    """Today in Vietnam: the day the service counts in."""
    return (datetime.now(UTC) + VIETNAM).date()


def insurance_settings(
    database_url: str, bootstrap: str, data_dir: Path, **overrides: Any
) -> InsuranceSettings:
    return InsuranceSettings(
        database_url=database_url, kafka_bootstrap_servers=bootstrap, data_dir=data_dir,
        relay_poll_seconds=0.2, log_level="WARNING", kafka_session_timeout_ms=2000, **overrides,
    )  # fmt: skip


@asynccontextmanager
async def insurance_app(
    database_url: str, bootstrap: str, data_dir: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real insurance app (database, relay, consumer, sweep) on the real broker."""
    settings = insurance_settings(database_url, bootstrap, data_dir, **overrides)
    async with running_app(create(settings)) as client:
        yield client


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """``app`` served over real HTTP on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def admin(data_dir: Path) -> dict[str, str]:
    return bearer(token(data_dir, "admin"))


def operator(data_dir: Path, *communes: str) -> dict[str, str]:
    return bearer(token(data_dir, "operator", services=("insurance",), communes=communes))


async def eventually(
    check: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 30.0,
) -> T:
    """The value of ``check`` once ``done`` holds for it (or the last one after ``timeout``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    value = await check()
    while not done(value) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        value = await check()
    return value


async def person_view(
    client: httpx.AsyncClient, data_dir: Path, person_id: str, **params: str
) -> dict[str, Any] | None:
    response = await client.get(f"/persons/{person_id}", headers=admin(data_dir), params=params)
    return response.json() if response.status_code == 200 else None


async def wait_for_person(
    client: httpx.AsyncClient,
    data_dir: Path,
    person_id: str,
    done: Callable[[dict[str, Any]], bool] = lambda p: True,
) -> dict[str, Any]:
    """The insurance view of a person once the consumer has applied what ``done`` expects."""
    view = await eventually(
        lambda: person_view(client, data_dir, person_id), lambda v: v is not None and done(v)
    )
    assert view is not None and done(view), f"person {person_id} never reached the state: {view}"
    return view


def new_commune() -> str:
    """A commune code no other test uses, so worklists hold only this test's persons."""
    return f"{uuid.uuid4().int % 100_000:05d}"


class HouseholdEvents:
    """Well-formed households events (built with the households' own models) for one household."""

    def __init__(self, commune: str, poverty_class: str = "unclassified") -> None:
        self.commune = commune
        self.household_id = str(uuid.uuid4())
        self.poverty_class = poverty_class

    def registered(self) -> CloudEvent:
        return self._event(HouseholdRegistered(
            household_id=self.household_id, commune_code=self.commune, village="Ấp Hòa Thuận",
            area="rural", registered_on=today(), poverty_class=self.poverty_class,
        ))  # fmt: skip

    def person(self, born: date, *, minority: bool = False) -> tuple[str, str, CloudEvent]:
        """(person id, citizen pseudonym, person_added event)."""
        person_id, pseudonym = str(uuid.uuid4()), f"hs256:{uuid.uuid4().hex}{uuid.uuid4().hex}"
        event = self._event(PersonAdded(
            person_id=person_id, household_id=self.household_id, commune_code=self.commune,
            citizen_pseudonym=pseudonym, sex="female", date_of_birth=born,
            ethnicity="Khmer" if minority else "Kinh", ethnic_minority=minority,
            relation_to_head="child",
        ))  # fmt: skip
        return person_id, pseudonym, event

    def reclassified(self, from_class: str, to_class: str, effective: date) -> CloudEvent:
        return self._event(HouseholdReclassified(
            household_id=self.household_id, commune_code=self.commune, from_class=from_class,
            to_class=to_class, standard_code="ND-07-2021", reasons=["test"],
            effective_date=effective, basis="regular_review",
        ))  # fmt: skip

    def _event(self, payload: Any) -> CloudEvent:
        return new_event(payload, subject=self.household_id)


async def publish(bootstrap: str, *events: CloudEvent) -> None:
    """Put events on the households topic as the households relay would (key = subject)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic_for("households"), value=event.value_bytes(),
                key=event.subject.encode(), headers=event.kafka_headers(),
            )  # fmt: skip
    finally:
        await producer.stop()


def years_ago(years: int, days: int = 0) -> date:
    """A birth date ``years`` years (and ``days`` days) before today."""
    now = today()
    try:
        born = now.replace(year=now.year - years)
    except ValueError:  # 29 February
        born = now.replace(year=now.year - years, day=28)
    return born - timedelta(days=days)


async def events_about(
    bootstrap: str,
    subject: str,
    until: Callable[[CloudEvent], bool],
    timeout: float = 30.0,
) -> list[CloudEvent]:
    """The insurance events about ``subject`` (a person), in order, up to the first ``until``.

    Events of one subject share a partition, so whatever was published before the ``until``
    event is in the list: a duplicate would show without waiting for it.
    """
    found = await read_events(
        bootstrap, topic_for("insurance"), count=1, timeout=timeout,
        predicate=lambda e: e.subject == subject and until(e),
    )  # fmt: skip
    assert found, f"no event about {subject} matching the condition was published"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topic = topic_for("insurance")
        if not consumer.partitions_for_topic(topic):
            await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(partitions)
        events: list[CloudEvent] = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batches = await consumer.getmany(timeout_ms=500)
            events += [
                parse_record(r.headers, r.value)
                for records in batches.values()
                for r in records
                if r.key == subject.encode()
            ]
    finally:
        await consumer.stop()
    stop = next(i for i, e in enumerate(events) if until(e))
    return events[: stop + 1]


def event_names(events: list[CloudEvent]) -> list[str]:
    return [e.type.split(".")[3] for e in events]
