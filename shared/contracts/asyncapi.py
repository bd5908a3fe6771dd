"""The AsyncAPI 3.0.0 document of every An Sinh topic, built from the event registry.

Message payloads are ``$ref``s to the per-event JSON Schema files beside the document
(``./events/<type>.json``), so each schema is written once and the document stays short;
AsyncAPI tools resolve such relative references against the document's own location.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from shared.events import (
    CONTENT_TYPE,
    REQUIRED_HEADERS,
    SERVICES,
    SPECVERSION,
    EventPayload,
    dlq_topic_for,
    topic_for,
)

ASYNCAPI_VERSION = "3.0.0"
#: Version of the event API as a whole; its major follows the topics' ``.v1`` suffix.
API_VERSION = "1.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
EMBEDDED_BROKER = "127.0.0.1:9092"

CLOUDEVENT_HEADERS = "CloudEventHeaders"
DEAD_LETTER_HEADERS = "DeadLetterHeaders"
DEAD_LETTER_CHANNEL = "deadLetters"

_DESCRIPTION = f"""\
Events published by the An Sinh services, one topic per service.

Every record is a CloudEvents {SPECVERSION} event in the Kafka protocol binding, binary
mode: the record value is the event's `data` as JSON, the `ce_*` headers carry the
attributes, and the record key is the aggregate id (UTF-8), which keeps the events of
one aggregate in order.

Delivery is at-least-once: a consumer may see an event more than once (for example
after a broker restart the outboxes are republished) and must deduplicate by `ce_id`.
Within one event version (`...v<N>`) the data schema only changes compatibly; an
incompatible change is a new version. Consumers are tolerant readers: they accept enum
values and optional properties they do not know yet.
"""


def render_asyncapi(registry: Mapping[str, type[EventPayload]]) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document (as plain data) for the event types in ``registry``."""
    by_service: dict[str, list[type[EventPayload]]] = {service: [] for service in SERVICES}
    for ce_type in sorted(registry):
        by_service[registry[ce_type].ce_service].append(registry[ce_type])
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for service, models in by_service.items():
        channels[service] = _service_channel(service, models)
        operations[f"{service}.send"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{service}"},
            "title": f"The {service} service publishes its events",
            "messages": [
                {"$ref": f"#/channels/{service}/messages/{model.ce_type}"} for model in models
            ],
        }
    channels[DEAD_LETTER_CHANNEL] = _dead_letter_channel()
    operations["deadLetters.send"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{DEAD_LETTER_CHANNEL}"},
        "title": "A consumer sets aside a record it cannot process",
        "messages": [{"$ref": f"#/channels/{DEAD_LETTER_CHANNEL}/messages/deadLetter"}],
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "An Sinh events", "version": API_VERSION, "description": _DESCRIPTION},
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {
                model.ce_type: _event_message(model)
                for models in by_service.values()
                for model in models
            }
            | {"deadLetter": _dead_letter_message()},
            "schemas": {
                CLOUDEVENT_HEADERS: cloudevent_headers_schema(),
                DEAD_LETTER_HEADERS: dead_letter_headers_schema(),
            },
        },
    }


def _servers() -> dict[str, Any]:
    return {
        "embedded": {
            "host": EMBEDDED_BROKER,
            "protocol": "kafka",
            "description": "The embedded broker started by the local launcher (memory only).",
        },
        "production": {
            "host": "{bootstrap}",
            "protocol": "kafka",
            "description": "Apache Kafka (KRaft) or any Kafka-protocol broker of a deployment.",
            "variables": {
                "bootstrap": {
                    "default": "kafka:9092",
                    "description": "Bootstrap server host:port of the deployment.",
                }
            },
        },
    }


def _service_channel(service: str, models: list[type[EventPayload]]) -> dict[str, Any]:
    return {
        "address": topic_for(service),
        "title": f"{service} events",
        "description": f"Every event the {service} service publishes, keyed by aggregate id.",
        "messages": {
            model.ce_type: {"$ref": f"#/components/messages/{model.ce_type}"} for model in models
        },
        "bindings": {
            "kafka": {"topic": topic_for(service), "bindingVersion": KAFKA_BINDING_VERSION}
        },
    }


def _event_message(model: type[EventPayload]) -> dict[str, Any]:
    description = inspect.cleandoc(model.ce_description or model.__doc__ or "")
    message: dict[str, Any] = {
        "name": model.ce_type,
        "title": model.ce_name.replace("_", " "),
    }
    if description:
        message["summary"] = description.splitlines()[0]
        message["description"] = description
    message |= {
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": f"#/components/schemas/{CLOUDEVENT_HEADERS}"},
                {
                    "type": "object",
                    "properties": {"ce_type": {"type": "string", "const": model.ce_type}},
                },
            ]
        },
        "payload": {"$ref": f"./events/{model.ce_type}.json"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The aggregate id (UTF-8); the same as the ce_subject header.",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    return message


def cloudevent_headers_schema() -> dict[str, Any]:
    """JSON Schema of the CloudEvents Kafka binary-mode headers every event carries."""
    return {
        "type": "object",
        "description": "CloudEvents attributes as Kafka headers (binary mode), UTF-8 values.",
        "required": list(REQUIRED_HEADERS),
        "properties": {
            "ce_specversion": {"type": "string", "const": SPECVERSION},
            "ce_id": {
                "type": "string",
                "format": "uuid",
                "description": "Unique per event; consumers deduplicate by it.",
            },
            "ce_source": {
                "type": "string",
                "pattern": "^/ansinh/",
                "description": "The publishing service, /ansinh/<service>.",
            },
            "ce_type": {
                "type": "string",
                "pattern": r"^vn\.ansinh\.[a-z_]+\.[a-z0-9_]+\.v[0-9]+$",
            },
            "ce_time": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."},
            "ce_subject": {"type": "string", "description": "The aggregate id."},
            "ce_dataschema": {
                "type": "string",
                "format": "uri",
                "description": "Where the JSON Schema of the data is published.",
            },
            "content-type": {"type": "string", "const": CONTENT_TYPE},
            "traceparent": {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C Trace Context of the operation that caused the event.",
            },
            "tracestate": {"type": "string"},
        },
    }


def dead_letter_headers_schema() -> dict[str, Any]:
    """JSON Schema of the headers a consumer adds when it dead-letters a record."""
    number = {"type": "string", "pattern": "^[0-9]+$"}
    return {
        "type": "object",
        "description": (
            "The record's original headers (ce_* included, when it had them) are kept; "
            "these describe why and where it failed."
        ),
        "required": [
            "dlq_error",
            "dlq_error_type",
            "dlq_original_topic",
            "dlq_original_partition",
            "dlq_original_offset",
            "dlq_consumer_group",
            "dlq_attempts",
        ],
        "properties": {
            "dlq_error": {"type": "string", "description": "The error message."},
            "dlq_error_type": {"type": "string", "description": "The exception class name."},
            "dlq_original_topic": {"type": "string"},
            "dlq_original_partition": number | {"description": "Decimal partition number."},
            "dlq_original_offset": number | {"description": "Decimal offset in that partition."},
            "dlq_consumer_group": {"type": "string"},
            "dlq_attempts": number | {"description": "How many times processing was tried."},
        },
    }


def _dead_letter_channel() -> dict[str, Any]:
    return {
        "address": dlq_topic_for("{consumerGroup}"),
        "title": "dead letters",
        "description": (
            "Records a consumer group could not process (invalid, or still failing after "
            "retries). Nothing is dropped silently: an operator inspects and replays them."
        ),
        "parameters": {
            "consumerGroup": {"description": "The consumer group that set the record aside."}
        },
        "messages": {"deadLetter": {"$ref": "#/components/messages/deadLetter"}},
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "deadLetter",
        "title": "dead letter",
        "summary": "A record set aside by a consumer, unchanged, with the error in headers.",
        "headers": {"$ref": f"#/components/schemas/{DEAD_LETTER_HEADERS}"},
        "payload": {"description": "The original record value, byte for byte."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record key."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
