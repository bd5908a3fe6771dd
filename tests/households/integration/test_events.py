"""An API write reaches Kafka as a CloudEvent any plain consumer can parse."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from shared.events import topic_for
from tests import factories
from tests.support import bearer, read_events, read_records, token

pytestmark = pytest.mark.integration


async def test_registration_is_published_as_cloudevents(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    body = factories.household(members=3)
    response = await households.post("/households", json=body, headers=bearer(token(data_dir)))
    assert response.status_code == 201, response.text
    household_id = response.json()["household_id"]

    events = await read_events(
        topics, topic_for("households"), count=4, predicate=lambda e: e.subject == household_id
    )
    assert [e.type for e in events] == ["vn.ansinh.households.household_registered.v1"] + [
        "vn.ansinh.households.person_added.v1"
    ] * 3
    for event in events:
        assert event.source == "/ansinh/households"
        assert event.dataschema and event.dataschema.endswith(f"{event.type}.json")
        assert event.traceparent and event.traceparent.startswith("00-")
    # No personal data on the wire: no names, no citizen IDs.
    wire = " ".join(str(e.data) for e in events)
    for member in body["members"]:
        assert member["full_name"] not in wire
        assert member["citizen_id"] not in wire
    assert all(e.data["citizen_pseudonym"].startswith("hs256:") for e in events[1:])


async def test_events_conform_to_the_cloudevents_sdk(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    """A partner using the official CloudEvents SDK reads our records without our code."""
    response = await households.post(
        "/households", json=factories.household(members=2), headers=bearer(token(data_dir))
    )
    household_id = response.json()["household_id"]
    records = await read_records(
        topics, topic_for("households"), count=3, predicate=lambda r: r.key == household_id.encode()
    )
    assert len(records) == 3
    for record in records:
        event = from_binary_event(
            KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
        )
        assert event.get_specversion() == "1.0"
        assert event.get_subject() == household_id
        assert event.get_type().startswith("vn.ansinh.households.")
        assert event.get_data()["household_id"] == household_id
