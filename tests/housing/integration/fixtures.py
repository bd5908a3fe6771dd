"""Fixtures and helpers of the housing integration tests: the real housing app (and the real
households app where a flow starts there) on the session's real broker, households events
published as CloudEvents, and waiting until housing has consumed them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from services.housing.app import create
from services.housing.settings import HousingSettings
from shared.events import CloudEvent, dataschema_for, rfc3339, topic_for
from tests.support import bearer, running_app, token

COMMUNE = "30511"  # Nhơn Hưng
OTHER_COMMUNE = "30526"  # An Cư


def housing_settings(
    database_url: str, bootstrap: str, data_dir: Path, **overrides: Any
) -> HousingSettings:
    return HousingSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        data_dir=data_dir,
        relay_poll_seconds=0.2,
        kafka_session_timeout_ms=2000,
        log_level="WARNING",
        **overrides,
    )


@asynccontextmanager
async def running_housing(
    database_url: str, bootstrap: str, data_dir: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real housing app (database, relay, households-events consumer) on the real broker."""
    app = create(housing_settings(database_url, bootstrap, data_dir, **overrides))
    async with running_app(app) as client:
        yield client


def admin(data_dir: Path) -> dict[str, str]:
    return bearer(token(data_dir, "admin"))


def housing_officer(data_dir: Path, commune: str = COMMUNE) -> dict[str, str]:
    return bearer(token(data_dir, "operator", services=("housing",), communes=(commune,)))


class HouseholdsFeed:
    """Publishes households events as the households service would (binary CloudEvents)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def publish(
        self, ce_type: str, subject: str, data: dict[str, Any], event_id: str | None = None
    ) -> CloudEvent:
        full_type = f"vn.ansinh.households.{ce_type}.v1"
        event = CloudEvent(
            id=event_id or str(uuid.uuid4()),
            source="/ansinh/households",
            type=full_type,
            subject=subject,
            time=rfc3339(datetime.now(UTC)),
            data=data,
            dataschema=dataschema_for(full_type),
        )
        await self.resend(event)
        return event

    async def resend(self, event: CloudEvent) -> None:
        await self.producer.send_and_wait(
            topic_for("households"),
            value=event.value_bytes(),
            key=event.subject.encode(),
            headers=event.kafka_headers(),
        )

    async def registered(
        self, *, independent_since_year: int | None = 2005, commune: str = COMMUNE
    ) -> str:
        household_id = str(uuid.uuid4())
        await self.publish(
            "household_registered",
            household_id,
            {
                "household_id": household_id,
                "commune_code": commune,
                "village": "Ấp Hòa Thuận",
                "area": "rural",
                "registered_on": "2018-01-15",
                "poverty_class": "unclassified",
                "independent_since_year": independent_since_year,
            },
        )
        return household_id

    async def reclassified(
        self,
        household_id: str,
        to_class: str,
        effective_date: str,
        *,
        from_class: str = "unclassified",
        basis: str = "regular_review",
        commune: str = COMMUNE,
        event_id: str | None = None,
    ) -> CloudEvent:
        return await self.publish(
            "household_reclassified",
            household_id,
            {
                "household_id": household_id,
                "commune_code": commune,
                "from_class": from_class,
                "to_class": to_class,
                "standard_code": "QD59-2015",
                "reasons": ["test"],
                "effective_date": effective_date,
                "basis": basis,
                "review_id": None,
                "assessment_id": None,
            },
            event_id=event_id,
        )


@asynccontextmanager
async def households_feed(bootstrap: str) -> AsyncIterator[HouseholdsFeed]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        yield HouseholdsFeed(producer)
    finally:
        await producer.stop()


async def wait_until(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    ready: Callable[[dict[str, Any]], bool],
    patience: float = 45.0,
) -> dict[str, Any]:
    """GET ``path`` until ``ready(body)``; the consumer works asynchronously."""
    deadline = asyncio.get_running_loop().time() + patience
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(path, headers=headers)
        if response.status_code == 200:
            body = response.json()
            if ready(body):
                return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path} never became ready; last body {body}")


async def wait_listed(
    client: httpx.AsyncClient,
    data_dir: Path,
    household_id: str,
    on: str,
    listed: str | None,
    current: str | None = None,
) -> dict[str, Any]:
    """Wait until housing knows the household with this listed (and current) class on ``on``."""
    return await wait_until(
        client,
        f"/households/{household_id}?on={on}",
        admin(data_dir),
        lambda b: (
            b["listed_class"] == listed and (current is None or b["current_class"] == current)
        ),
    )


def application(household_id: str, **overrides: Any) -> dict[str, Any]:
    """An application body that passes every rule for a listed poor household."""
    body: dict[str, Any] = {
        "household_id": household_id,
        "applied_on": "2019-06-03",
        "house_condition": "dilapidated",
        "amount_requested": 25_000_000,
    }
    body.update(overrides)
    return body
