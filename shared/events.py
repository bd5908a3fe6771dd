"""Domain events and their CloudEvents 1.0 envelope (Kafka protocol binding, binary mode).

A service declares each event it publishes as a pydantic model decorated with
:func:`domain_event`; the decorator records it in :data:`REGISTRY` under its CloudEvents
type ``vn.ansinh.<service>.<event_name>.v<N>``. Contracts (JSON Schema, AsyncAPI) are
generated from that registry, so the models are the single source of truth.

On the wire an event is a Kafka record whose value is the JSON ``data`` and whose headers
carry the ``ce_*`` attributes, exactly as ARCHITECTURE.md (repository root) fixes them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
TYPE_PREFIX = "vn.ansinh"
SCHEMA_BASE_URL = "https://contracts.ansinh.vn/events/"
SERVICES = ("households", "employment", "insurance", "housing", "audit")
REQUIRED_HEADERS = (
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "content-type",
)


def topic_for(service: str) -> str:
    """The topic a service publishes to: ``ansinh.<service>.v1``."""
    return f"ansinh.{service}.v1"


def dlq_topic_for(consumer_group: str) -> str:
    """The dead-letter topic of one consumer group."""
    return f"ansinh.dlq.{consumer_group}"


ALL_TOPICS = tuple(topic_for(s) for s in SERVICES)


class EventPayload(BaseModel):
    """Base of every event's ``data``. Subclasses are registered with :func:`domain_event`."""

    # Tolerant reader: a consumer on an older model ignores fields added later in the same version.
    model_config = ConfigDict(extra="ignore", frozen=True)

    ce_service: ClassVar[str]
    ce_name: ClassVar[str]
    ce_version: ClassVar[int]
    ce_type: ClassVar[str]
    #: Human description used in the contracts; the class docstring by default.
    ce_description: ClassVar[str] = ""


P = TypeVar("P", bound=type[EventPayload])

#: ce_type -> payload model, for every event any service publishes.
REGISTRY: dict[str, type[EventPayload]] = {}


def domain_event(service: str, name: str, version: int = 1) -> Callable[[P], P]:
    """Register a payload model as the data of event ``vn.ansinh.<service>.<name>.v<version>``."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")

    def register(cls: P) -> P:
        ce_type = f"{TYPE_PREFIX}.{service}.{name}.v{version}"
        existing = REGISTRY.get(ce_type)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"event type {ce_type} registered twice")
        cls.ce_service = service
        cls.ce_name = name
        cls.ce_version = version
        cls.ce_type = ce_type
        cls.ce_description = (cls.__doc__ or "").strip()
        REGISTRY[ce_type] = cls
        return cls

    return register


def dataschema_for(ce_type: str) -> str:
    return f"{SCHEMA_BASE_URL}{ce_type}.json"


def rfc3339(moment: datetime) -> str:
    """UTC time in RFC 3339 with a ``Z`` suffix and microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class CloudEvent:
    """One event as it travels: CloudEvents attributes plus the JSON data."""

    id: str
    source: str
    type: str
    subject: str
    time: str
    data: dict[str, Any]
    dataschema: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    extra_headers: tuple[tuple[str, bytes], ...] = field(default=())

    @property
    def service(self) -> str:
        return self.type.split(".")[2]

    @property
    def topic(self) -> str:
        return topic_for(self.service)

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.dataschema:
            headers.append(("ce_dataschema", self.dataschema.encode()))
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        if self.tracestate:
            headers.append(("tracestate", self.tracestate.encode()))
        headers.extend(self.extra_headers)
        return headers

    def value_bytes(self) -> bytes:
        return encode_data(self.data)

    def payload(self) -> EventPayload:
        """Validate ``data`` against the registered model (raises InvalidEvent)."""
        model = REGISTRY.get(self.type)
        if model is None:
            raise InvalidEvent(f"unknown event type {self.type!r}")
        try:
            return model.model_validate(self.data)
        except ValueError as exc:
            raise InvalidEvent(f"data does not match {self.type}: {exc}") from exc


class InvalidEvent(ValueError):
    """A record that is not a valid An Sinh CloudEvent (goes to the dead-letter topic)."""


def encode_data(data: dict[str, Any]) -> bytes:
    # Sorted keys and no spaces: the same data always gives the same bytes (ledger leaves).
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_event(
    payload: EventPayload,
    *,
    subject: str,
    source: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
    trace: Mapping[str, str] | None = None,
) -> CloudEvent:
    """Wrap a payload in a new CloudEvent (fresh UUID id, now as time).

    ``trace`` holds the W3C trace headers to carry (``traceparent``, ``tracestate``), as
    :func:`shared.observability.current_trace_headers` gives them; none by default.
    """
    trace = trace or {}
    cls = type(payload)
    if not hasattr(cls, "ce_type"):
        raise TypeError(f"{cls.__name__} is not registered with @domain_event")
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source or f"/ansinh/{cls.ce_service}",
        type=cls.ce_type,
        subject=str(subject),
        time=rfc3339(time or datetime.now(UTC)),
        data=payload.model_dump(mode="json"),
        dataschema=dataschema_for(cls.ce_type),
        traceparent=trace.get("traceparent"),
        tracestate=trace.get("tracestate"),
    )


def parse_record(headers: Sequence[tuple[str, bytes]] | None, value: bytes | None) -> CloudEvent:
    """Decode a Kafka record in CloudEvents binary mode; raise InvalidEvent if it is not one."""
    found: dict[str, str] = {}
    extra: list[tuple[str, bytes]] = []
    for name, raw in headers or ():
        try:
            text = raw.decode("utf-8") if raw is not None else ""
        except UnicodeDecodeError as exc:
            raise InvalidEvent(f"header {name} is not UTF-8") from exc
        if name.startswith("ce_") or name in ("content-type", "traceparent", "tracestate"):
            found[name] = text
        else:
            extra.append((name, raw))
    missing = [h for h in REQUIRED_HEADERS if not found.get(h)]
    if missing:
        raise InvalidEvent(f"missing CloudEvents headers: {', '.join(missing)}")
    if found["ce_specversion"] != SPECVERSION:
        raise InvalidEvent(f"unsupported ce_specversion {found['ce_specversion']!r}")
    if not found["content-type"].startswith(CONTENT_TYPE):
        raise InvalidEvent(f"unsupported content-type {found['content-type']!r}")
    try:
        uuid.UUID(found["ce_id"])
    except ValueError as exc:
        raise InvalidEvent(f"ce_id {found['ce_id']!r} is not a UUID") from exc
    try:
        datetime.fromisoformat(found["ce_time"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidEvent(f"ce_time {found['ce_time']!r} is not RFC 3339") from exc
    if value is None:
        raise InvalidEvent("record has no value")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"value is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidEvent("data must be a JSON object")
    return CloudEvent(
        id=found["ce_id"],
        source=found["ce_source"],
        type=found["ce_type"],
        subject=found["ce_subject"],
        time=found["ce_time"],
        data=data,
        dataschema=found.get("ce_dataschema"),
        traceparent=found.get("traceparent"),
        tracestate=found.get("tracestate"),
        extra_headers=tuple(extra),
    )


def registered_types(service: str | None = None) -> Iterable[str]:
    return sorted(t for t, m in REGISTRY.items() if service is None or m.ce_service == service)
