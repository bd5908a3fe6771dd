"""One trace spans API call → outbox → relay → consumer (W3C traceparent in Kafka headers)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.households.events import HouseholdReclassified
from shared.events import CloudEvent, new_event, topic_for
from shared.observability import configure_tracing
from tests import factories
from tests.support import bearer, read_events, token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    configure_tracing("households").add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def trace_id_of(traceparent: str) -> int:
    return int(traceparent.split("-")[1], 16)


async def test_api_relay_and_consumer_share_one_trace(
    households: httpx.AsyncClient, topics: str, data_dir: Path, spans: InMemorySpanExporter
) -> None:
    response = await households.post(
        "/households", json=factories.household(members=1), headers=bearer(token(data_dir))
    )
    household_id = response.json()["household_id"]
    [registered] = await read_events(
        topics,
        topic_for("households"),
        count=1,
        predicate=lambda e: (
            e.subject == household_id and e.type.endswith("household_registered.v1")
        ),
    )
    api_trace = trace_id_of(registered.traceparent or "")
    server = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.SERVER and s.context.trace_id == api_trace
    ]
    publish = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.PRODUCER and s.context.trace_id == api_trace
    ]
    assert server, "the API request's span carries the trace the event was published in"
    assert publish and publish[0].parent is not None

    # A consumer continues the trace of the record it handles.
    payload = HouseholdReclassified(
        household_id=household_id,
        commune_code="30511",
        from_class="unclassified",
        to_class="poor",
        standard_code="QD-59-2015",
        reasons=["t"],
        effective_date="2019-12-10",
        basis="periodic_review",
    )
    follow_up = new_event(payload, subject=household_id)
    follow_up = CloudEvent(**{**follow_up.__dict__, "traceparent": registered.traceparent})
    producer = AIOKafkaProducer(bootstrap_servers=topics)
    await producer.start()
    await producer.send_and_wait(
        topic_for("households"),
        value=follow_up.value_bytes(),
        key=household_id.encode(),
        headers=follow_up.kafka_headers(),
    )
    await producer.stop()
    for _ in range(100):
        consumed = [
            s
            for s in spans.get_finished_spans()
            if s.kind == SpanKind.CONSUMER and s.context.trace_id == api_trace
        ]
        if consumed:
            break
        await asyncio.sleep(0.2)
    assert consumed and consumed[0].attributes["messaging.message.id"] == follow_up.id
    assert uuid.UUID(follow_up.id)
