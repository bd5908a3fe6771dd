"""An event carries the trace it was recorded in, and the relay's publish span replaces it:
built once each time (shared.events.new_event, shared.outbox.row_to_event)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from services.households.events import HouseholdReclassified
from shared.events import CloudEvent, new_event, parse_record
from shared.observability import current_trace_headers, tracer
from shared.outbox import outbox_row, row_to_event

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def payload() -> HouseholdReclassified:
    return HouseholdReclassified(
        household_id=str(uuid.uuid4()),
        commune_code="30511",
        from_class="unclassified",
        to_class="poor",
        standard_code="QD-59-2015",
        reasons=["test"],
        effective_date="2019-12-10",
        basis="periodic_review",
    )


def recorded(event: CloudEvent) -> SimpleNamespace:
    """The outbox row ``event`` is stored as, read back."""
    return SimpleNamespace(**outbox_row(event))


def test_an_event_built_in_a_span_carries_its_trace_headers_to_kafka() -> None:
    with tracer("households").start_as_current_span("request") as span:
        event = new_event(payload(), subject="h-1", trace=current_trace_headers())

    headers = dict(event.kafka_headers())
    trace_id = f"{span.get_span_context().trace_id:032x}"
    assert headers["traceparent"].decode().split("-")[1] == trace_id
    assert parse_record(event.kafka_headers(), event.value_bytes()).traceparent == (
        event.traceparent
    )


def test_an_event_built_without_trace_headers_has_none() -> None:
    event = new_event(payload(), subject="h-1")

    assert event.traceparent is None and event.tracestate is None
    assert "traceparent" not in dict(event.kafka_headers())


def test_the_outbox_row_gives_back_the_event_as_recorded() -> None:
    event = new_event(payload(), subject="h-1", trace={"traceparent": TRACEPARENT})

    assert row_to_event(recorded(event)) == event


def test_trace_headers_given_when_read_replace_the_recorded_ones_and_nothing_else() -> None:
    event = new_event(
        payload(), subject="h-1", trace={"traceparent": TRACEPARENT, "tracestate": "a=1"}
    )
    publish = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    read = row_to_event(recorded(event), trace={"traceparent": publish})

    assert read.traceparent == publish
    assert read.tracestate == "a=1"  # not in the new headers: the recorded one stays
    assert (read.id, read.type, read.subject, read.time, read.data) == (
        event.id,
        event.type,
        event.subject,
        event.time,
        event.data,
    )
