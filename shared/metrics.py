"""Prometheus metrics shared by every service, served at ``GET /metrics``.

The metrics live in the default registry and are defined once here, so several
services built in one process (tests, the embedded launcher) share them; the
``service`` label tells them apart.
"""

from __future__ import annotations

import time
from typing import Any, Final, Literal

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "EVENTS_CONSUMED",
    "EVENTS_PUBLISHED",
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "OUTBOX_BACKLOG",
    "RELAY_BATCH_SECONDS",
    "ConsumeOutcome",
    "HttpMetricsMiddleware",
    "metrics_response",
    "route_template",
]

ConsumeOutcome = Literal["applied", "duplicate", "ignored", "dead_lettered"]
"""Values of the ``outcome`` label of :data:`EVENTS_CONSUMED`."""

HTTP_REQUESTS: Final = Counter(
    "ansinh_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY: Final = Histogram(
    "ansinh_http_request_duration_seconds",
    "Time from request received to response sent.",
    ["service", "method", "route"],
)
EVENTS_PUBLISHED: Final = Counter(
    "ansinh_events_published_total",
    "Events the outbox relay published to Kafka.",
    ["service", "type"],
)
EVENTS_CONSUMED: Final = Counter(
    "ansinh_events_consumed_total",
    "Events a consumer group handled, by outcome (applied, duplicate, ignored, dead_lettered).",
    ["service", "group", "type", "outcome"],
)
DEAD_LETTERS: Final = Counter(
    "ansinh_dead_letters_total",
    "Events a consumer group sent to its dead-letter topic.",
    ["service", "group"],
)
OUTBOX_BACKLOG: Final = Gauge(
    "ansinh_outbox_backlog",
    "Outbox rows not yet published.",
    ["service"],
)
CONSUMER_LAG: Final = Gauge(
    "ansinh_consumer_lag",
    "Records between a consumer group's committed offset and the partition end.",
    ["service", "group", "topic", "partition"],
)
RELAY_BATCH_SECONDS: Final = Histogram(
    "ansinh_relay_batch_duration_seconds",
    "Time the outbox relay took to publish one batch and mark it sent.",
    ["service"],
)

UNMATCHED_ROUTE: Final = "unmatched"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope, outer_root_path: str = "") -> str:
    """The path template the router matched (``/households/{household_id}``), or ``unmatched``.

    Call after the app handled ``scope``; ``outer_root_path`` is the scope's
    ``root_path`` before routing, so prefixes of mounted sub-apps are kept.
    """
    route = scope.get("route")
    mount_prefix = str(scope.get("root_path", "")).removeprefix(outer_root_path)
    if route is None or isinstance(route, Mount):
        # Nothing matched, or a mounted app (e.g. static files) that does no routing itself.
        return f"{mount_prefix}/{{path}}" if mount_prefix else UNMATCHED_ROUTE
    # FastAPI >= 0.137 leaves include_router() prefixes out of scope["route"] and keeps
    # the full template on the effective route context (fastapi/fastapi#16051).
    fastapi_scope: Any = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if fastapi_scope else None
    for candidate in (context, route):
        path = getattr(candidate, "path_format", None) or getattr(candidate, "path", None)
        if isinstance(path, str) and path:
            return mount_prefix + path
    return UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Count and time every HTTP request of ``service`` by method, route template and status.

    ``/metrics`` itself is not counted. A request that raises counts as status 500.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        status = 500
        outer_root_path = str(scope.get("root_path", ""))

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            elapsed = time.perf_counter() - started
            # Unknown methods are caller-controlled; one bucket bounds the label set.
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_template(scope, outer_root_path)
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)


def metrics_response() -> Response:
    """The default registry in Prometheus text format, for ``GET /metrics``."""
    return Response(content=generate_latest(), media_type=CONTENT_TYPE_LATEST)
