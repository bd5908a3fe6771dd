"""Logs, traces and request context, the same in every service.

Every line a service prints is one JSON object carrying ``service``, ``level``,
``event`` and ``timestamp``, plus ``request_id`` inside an HTTP request and
``trace_id``/``span_id`` inside a span. Traces cross Kafka as W3C
``traceparent``/``tracestate`` headers (see :mod:`shared.events`).
"""

from __future__ import annotations

import io
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, Final, cast

import structlog
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "Progress",
    "RequestContextMiddleware",
    "configure_logging",
    "configure_tracing",
    "context_from_headers",
    "current_trace_headers",
    "get_logger",
    "instrument_fastapi",
    "progress_logger",
    "tracer",
]

TRACE_EXPORTERS: Final = ("none", "console", "otlp")
REQUEST_ID_HEADER: Final = "x-request-id"

# Loggers that are chatty at INFO; their warnings still come through.
# uvicorn.access is replaced by RequestContextMiddleware's request.completed line.
_QUIET_LOGGERS: Final = ("aiokafka", "uvicorn.access")
# uvicorn installs its own plain-text handlers; they must propagate to ours instead.
_UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")
# A caller-supplied request id is echoed into logs and headers, so bound its shape.
_REQUEST_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_PROPAGATOR: Final = TraceContextTextMapPropagator()
_providers: dict[str, TracerProvider] = {}
_global_provider_set = False


class _CurrentStdout(io.TextIOBase):
    """Writes to whatever ``sys.stdout`` is now; pytest and uvicorn may swap it."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class _JsonLinesHandler(logging.StreamHandler):
    """The one root handler this module installs (found again on reconfiguration)."""


# --------------------------------------------------------------------------- logging


def add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Structlog processor: add hex ``trace_id``/``span_id`` of the current span, if any."""
    # Validity, not is_recording(): the ASGI server span ends once the body is sent,
    # yet the request.completed line after it still belongs to that trace.
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", trace.format_trace_id(context.trace_id))
        event_dict.setdefault("span_id", trace.format_span_id(context.span_id))
    return event_dict


def _add_service(service: str) -> Processor:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict["service"] = service
        return event_dict

    return add_service


def _level_number(level: str) -> int:
    levels = logging.getLevelNamesMapping()
    try:
        return levels[level.upper()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}") from None


def configure_logging(service: str, level: str = "INFO", *, json: bool = True) -> None:
    """Send structlog and stdlib logging to stdout, one JSON object per line.

    ``json=False`` renders the same events for a human (local console). Safe to
    call again: the previous configuration is replaced, not stacked.
    """
    level_number = _level_number(level)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
        add_trace_ids,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Caching would pin module-level loggers to the first configuration.
        cache_logger_on_first_use=False,
    )
    renderer: list[Processor] = (
        [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
        if json
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    handler = _JsonLinesHandler(_CurrentStdout())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _JsonLinesHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_number)
    for name in _UVICORN_LOGGERS:
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, level_number))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` that follows the current configuration."""
    return cast(structlog.stdlib.BoundLogger, structlog.stdlib.get_logger(name))


# --------------------------------------------------------------------------- tracing


def _span_exporter(exporter: str, otlp_endpoint: str | None) -> Any:
    if exporter == "console":
        # One compact JSON object per span keeps stdout parseable line by line.
        return ConsoleSpanExporter(
            out=cast(Any, _CurrentStdout()),
            formatter=lambda span: span.to_json(indent=None) + "\n",
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = otlp_endpoint
    # The exporter takes the full traces URL; operators usually know the collector base.
    if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)


def configure_tracing(
    service: str, exporter: str = "none", otlp_endpoint: str | None = None
) -> TracerProvider:
    """The tracer provider of ``service`` (resource ``service.name=ansinh-<service>``).

    ``exporter``: ``"none"`` records spans (ids for logs and ``traceparent``) but
    exports nothing; ``"console"`` prints spans to stdout; ``"otlp"`` sends them
    over OTLP/HTTP to ``otlp_endpoint`` (collector base URL or full ``/v1/traces``
    URL; ``None`` reads the ``OTEL_EXPORTER_OTLP_*`` environment). The first call
    per service wins, so several services can share one test process; the first
    provider ever created also becomes the global one.
    """
    global _global_provider_set
    if exporter not in TRACE_EXPORTERS:
        raise ValueError(f"exporter must be one of {TRACE_EXPORTERS}, got {exporter!r}")
    if service in _providers:
        return _providers[service]
    provider = TracerProvider(resource=Resource.create({"service.name": f"ansinh-{service}"}))
    if exporter != "none":
        provider.add_span_processor(BatchSpanProcessor(_span_exporter(exporter, otlp_endpoint)))
    _providers[service] = provider
    # The API allows one global provider per process; a second set only logs a warning.
    if not _global_provider_set and isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider
    ):
        trace.set_tracer_provider(provider)
        _global_provider_set = True
    return provider


def tracer(service: str) -> trace.Tracer:
    """A tracer from ``service``'s provider (configured with ``"none"`` if not yet)."""
    provider = _providers.get(service) or configure_tracing(service)
    return provider.get_tracer(f"ansinh.{service}")


def current_trace_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate`` if any) of the current span; ``{}`` outside one."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def context_from_headers(traceparent: str | None, tracestate: str | None) -> Context:
    """A context whose parent is the remote span in the headers (empty if absent/invalid)."""
    carrier = {"traceparent": traceparent or "", "tracestate": tracestate or ""}
    return _PROPAGATOR.extract({key: value for key, value in carrier.items() if value})


def instrument_fastapi(app: FastAPI, provider: TracerProvider) -> None:
    """Trace every request of ``app`` except the health and metrics probes."""
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics"
    )


# --------------------------------------------------------------------------- HTTP context


class RequestContextMiddleware:
    """Give each HTTP request an ``X-Request-ID`` and log one ``request.completed`` line.

    The id comes from the caller's header when well-formed, otherwise a new
    UUID4; it is bound to every log line of the request (with method and path),
    put in ``request.state.request_id`` and echoed on the response. Probe paths
    (``quiet_paths``) get the id but no completion line.
    """

    def __init__(
        self,
        app: ASGIApp,
        quiet_paths: Collection[str] = ("/healthz", "/readyz", "/metrics"),
    ) -> None:
        self.app = app
        self.quiet_paths = frozenset(quiet_paths)
        self.log = get_logger("ansinh.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = offered if _REQUEST_ID_PATTERN.fullmatch(offered) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(
            request_id=request_id, method=scope["method"], path=scope["path"]
        ):
            try:
                await self.app(scope, receive, send_with_request_id)
            finally:
                if scope["path"] not in self.quiet_paths:
                    log = self.log.error if status >= 500 else self.log.info
                    log(
                        "request.completed",
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )


# --------------------------------------------------------------------------- progress


class Progress:
    """Counts the items of a long task (bulk import, replay) and logs how far it got.

    A ``progress`` line (task, done, total, rate_per_s, elapsed_s) is logged when
    ``every`` more items are done or ``interval`` seconds passed since the last line.
    """

    def __init__(
        self,
        task: str,
        total: int | None = None,
        *,
        every: int = 1000,
        interval: float = 10.0,
        logger: structlog.stdlib.BoundLogger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.task = task
        self.total = total
        self.done = 0
        self.every = every
        self.interval = interval
        self.log = logger or get_logger("ansinh.progress")
        self._clock = clock
        self._started = self._logged_at = clock()
        self._logged_done = 0

    def advance(self, count: int = 1) -> None:
        """Record ``count`` more items done; log if a threshold was crossed."""
        self.done += count
        now = self._clock()
        if self.done - self._logged_done >= self.every or now - self._logged_at >= self.interval:
            self._report("progress", now)

    def finish(self) -> None:
        """Log the final ``progress.completed`` line."""
        self._report("progress.completed", self._clock())

    def fail(self, error: BaseException) -> None:
        """Log a ``progress.failed`` line naming the error type."""
        self._report("progress.failed", self._clock(), error=type(error).__name__)

    def _report(self, event: str, now: float, **extra: object) -> None:
        elapsed = now - self._started
        self.log.info(
            event,
            task=self.task,
            done=self.done,
            total=self.total,
            rate_per_s=round(self.done / elapsed, 1) if elapsed > 0 else None,
            elapsed_s=round(elapsed, 3),
            **extra,
        )
        self._logged_at, self._logged_done = now, self.done


@contextmanager
def progress_logger(
    task: str,
    total: int | None = None,
    *,
    every: int = 1000,
    interval: float = 10.0,
    logger: structlog.stdlib.BoundLogger | None = None,
) -> Iterator[Progress]:
    """A :class:`Progress` that logs `progress.completed` on success, `progress.failed` on error."""
    progress = Progress(task, total, every=every, interval=interval, logger=logger)
    try:
        yield progress
    except BaseException as error:
        progress.fail(error)
        raise
    progress.finish()
