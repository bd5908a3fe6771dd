"""Logs are JSON lines with request and trace context; traces cross Kafka headers intact."""

from __future__ import annotations

import json
import logging
import logging.config
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import uvicorn.config
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from shared.observability import (
    Progress,
    RequestContextMiddleware,
    configure_logging,
    configure_tracing,
    context_from_headers,
    current_trace_headers,
    get_logger,
    instrument_fastapi,
    progress_logger,
    tracer,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every line printed to stdout since the last call, each parsed as one JSON object."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def events(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == name]


@pytest.fixture(autouse=True)
def json_logging() -> Iterator[None]:
    configure_logging("households")
    yield
    configure_logging("households")


def trace_hex(span: trace.Span) -> str:
    return trace.format_trace_id(span.get_span_context().trace_id)


class TestJsonLines:
    def test_structlog_line_carries_service_level_event_and_utc_timestamp(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        get_logger("ansinh.test").info("household.registered", household_id="h-1")

        [line] = json_lines(capsys)
        assert line["event"] == "household.registered"
        assert line["service"] == "households"
        assert line["level"] == "info"
        assert line["logger"] == "ansinh.test"
        assert line["household_id"] == "h-1"
        assert datetime.fromisoformat(line["timestamp"]).utcoffset() is not None

    def test_stdlib_library_lines_come_out_as_json_too(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        logging.getLogger("sqlalchemy.pool").warning("pool %s exhausted", "main")
        logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0001")

        lines = json_lines(capsys)
        assert [line["event"] for line in lines] == [
            "pool main exhausted",
            "Running upgrade -> 0001",
        ]
        assert {line["service"] for line in lines} == {"households"}
        assert lines[0]["logger"] == "sqlalchemy.pool"
        assert lines[0]["level"] == "warning"

    def test_uvicorn_lines_are_json_even_after_uvicorn_installed_its_handlers(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
        configure_logging("insurance")
        logging.getLogger("uvicorn.error").info("Application startup complete.")

        [line] = json_lines(capsys)
        assert line["event"] == "Application startup complete."
        assert line["service"] == "insurance"

    def test_aiokafka_info_is_quiet_but_its_warnings_are_kept(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        logging.getLogger("aiokafka.consumer.group_coordinator").info("joined group")
        logging.getLogger("aiokafka.conn").warning("connection lost")

        assert [line["event"] for line in json_lines(capsys)] == ["connection lost"]

    def test_reconfiguring_replaces_rather_than_duplicates_output(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        log = get_logger("ansinh.test")  # obtained before reconfiguration, like module loggers
        configure_logging("employment")
        configure_logging("housing")
        log.info("worker.enrolled")
        logging.getLogger("ansinh.stdlib").info("worker.placed")

        lines = json_lines(capsys)
        assert [line["event"] for line in lines] == ["worker.enrolled", "worker.placed"]
        assert {line["service"] for line in lines} == {"housing"}

    def test_level_filters_lines_and_unknown_level_is_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging("audit", "warning")
        log = get_logger("ansinh.test")
        log.info("ledger.appended")
        log.warning("ledger.gap_detected")

        assert [line["event"] for line in json_lines(capsys)] == ["ledger.gap_detected"]
        with pytest.raises(ValueError, match="VERBOSE"):
            configure_logging("audit", "VERBOSE")

    def test_exceptions_become_structured_tracebacks(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        try:
            raise ValueError("bad citizen id")
        except ValueError:
            get_logger("ansinh.test").exception("import.row_failed", row=7)
            logging.getLogger("ansinh.stdlib").exception("import.aborted")

        lines = json_lines(capsys)
        assert [line["event"] for line in lines] == ["import.row_failed", "import.aborted"]
        for line in lines:
            [frame_group] = line["exception"]
            assert frame_group["exc_type"] == "ValueError"
            assert frame_group["exc_value"] == "bad citizen id"
            assert line["level"] == "error"

    def test_console_mode_prints_readable_lines(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging("households", json=False)
        get_logger("ansinh.test").info("household.registered", household_id="h-1")

        out = capsys.readouterr().out
        assert "household.registered" in out
        assert "household_id=h-1" in out
        with pytest.raises(json.JSONDecodeError):
            json.loads(out)


class TestTraceContextInLogs:
    def test_line_inside_a_span_carries_its_trace_and_span_ids(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with tracer("households").start_as_current_span("reclassify") as span:
            get_logger("ansinh.test").info("household.reclassified")
            logging.getLogger("ansinh.stdlib").info("stdlib.inside_span")
        get_logger("ansinh.test").info("after.span")

        inside_structlog, inside_stdlib, after = json_lines(capsys)
        for line in (inside_structlog, inside_stdlib):
            assert line["trace_id"] == trace_hex(span)
            assert line["span_id"] == trace.format_span_id(span.get_span_context().span_id)
        assert "trace_id" not in after


class TestKafkaHeaderPropagation:
    def test_no_headers_outside_a_span(self) -> None:
        assert current_trace_headers() == {}

    def test_consumer_span_continues_the_publishers_trace(self) -> None:
        with tracer("households").start_as_current_span("outbox.publish") as parent:
            headers = current_trace_headers()

        parent_context = context_from_headers(headers["traceparent"], headers.get("tracestate"))
        with tracer("insurance").start_as_current_span("consume", context=parent_context) as child:
            assert trace_hex(child) == trace_hex(parent)
            assert isinstance(child, ReadableSpan)
            assert child.parent is not None
            assert child.parent.span_id == parent.get_span_context().span_id

    def test_tracestate_survives_the_hop(self) -> None:
        remote = context_from_headers(TRACEPARENT, "ansinh=audit,vendor=x")
        with tracer("audit").start_as_current_span("consume", context=remote) as span:
            headers = current_trace_headers()

        assert trace_hex(span) == TRACE_ID
        assert headers["traceparent"].split("-")[1] == TRACE_ID
        assert headers["tracestate"] == "ansinh=audit,vendor=x"

    @pytest.mark.parametrize("traceparent", [None, "", "not-a-traceparent"])
    def test_missing_or_invalid_header_starts_a_new_trace(self, traceparent: str | None) -> None:
        context = context_from_headers(traceparent, None)
        with tracer("audit").start_as_current_span("consume", context=context) as span:
            assert span.get_span_context().is_valid
            assert isinstance(span, ReadableSpan)
            assert span.parent is None


class TestTracerProviders:
    def test_each_service_has_its_own_named_provider_reused_on_reconfiguration(self) -> None:
        first = configure_tracing("provider-check-a")
        again = configure_tracing("provider-check-a")
        other = configure_tracing("provider-check-b")

        assert first is again
        assert other is not first
        assert first.resource.attributes["service.name"] == "ansinh-provider-check-a"
        assert other.resource.attributes["service.name"] == "ansinh-provider-check-b"

    def test_unknown_exporter_is_refused(self) -> None:
        with pytest.raises(ValueError, match="zipkin"):
            configure_tracing("provider-check-c", "zipkin")

    def test_console_exporter_prints_one_json_object_per_span(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        provider = configure_tracing(f"console-{uuid.uuid4().hex[:8]}", "console")
        with provider.get_tracer("test").start_as_current_span("relay.batch") as span:
            pass
        assert provider.force_flush()

        [printed] = [line for line in json_lines(capsys) if line.get("name") == "relay.batch"]
        assert printed["context"]["trace_id"] == f"0x{trace_hex(span)}"

    def test_otlp_exporter_posts_spans_to_the_collector(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        tracer("observability-tests")  # makes sure this provider is not the process-wide one
        received: list[tuple[str, str]] = []

        class Collector(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers["Content-Type"]))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            endpoint = f"http://127.0.0.1:{server.server_address[1]}"
            provider = configure_tracing(f"otlp-{uuid.uuid4().hex[:8]}", "otlp", endpoint)
            with provider.get_tracer("test").start_as_current_span("relay.batch"):
                pass
            assert provider.force_flush()
            provider.shutdown()
        finally:
            server.shutdown()
            server.server_close()

        assert received == [("/v1/traces", "application/x-protobuf")]


def request_context_app() -> FastAPI:
    app = FastAPI()

    @app.get("/households/{household_id}")
    async def read_household(household_id: str) -> dict[str, str]:
        get_logger("ansinh.test").info("household.read", household_id=household_id)
        return {"id": household_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(RequestContextMiddleware)
    return app


async def get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers=headers)


class TestRequestContext:
    async def test_request_without_id_gets_a_new_uuid_on_response_and_logs(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        response = await get(request_context_app(), "/households/h-1")
        get_logger("ansinh.test").info("after.request")

        request_id = response.headers["x-request-id"]
        assert uuid.UUID(request_id).version == 4
        lines = json_lines(capsys)
        [read] = events(lines, "household.read")
        [completed] = events(lines, "request.completed")
        [after] = events(lines, "after.request")
        assert read["request_id"] == completed["request_id"] == request_id
        assert completed["method"] == "GET"
        assert completed["path"] == "/households/h-1"
        assert completed["status"] == 200
        assert completed["duration_ms"] >= 0
        assert "request_id" not in after

    async def test_callers_request_id_is_echoed_and_logged(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        response = await get(
            request_context_app(), "/households/h-2", {"X-Request-ID": "portal-42"}
        )

        assert response.headers["x-request-id"] == "portal-42"
        service_lines = [line for line in json_lines(capsys) if line["logger"].startswith("ansinh")]
        assert {line["request_id"] for line in service_lines} == {"portal-42"}

    @pytest.mark.parametrize("offered", ["x" * 500, "has spaces", "semi;colon"])
    async def test_malformed_request_id_is_replaced(self, offered: str) -> None:
        response = await get(request_context_app(), "/households/h-3", {"X-Request-ID": offered})

        assert uuid.UUID(response.headers["x-request-id"]).version == 4

    async def test_probes_get_an_id_but_no_completion_line(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        response = await get(request_context_app(), "/healthz")

        assert uuid.UUID(response.headers["x-request-id"])
        assert events(json_lines(capsys), "request.completed") == []

    async def test_instrumented_app_logs_the_callers_trace_id(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        app = request_context_app()
        instrument_fastapi(app, configure_tracing("households"))

        await get(app, "/households/h-4", {"traceparent": TRACEPARENT})

        lines = json_lines(capsys)
        [read] = events(lines, "household.read")
        [completed] = events(lines, "request.completed")
        assert read["trace_id"] == completed["trace_id"] == TRACE_ID


class TickingClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestProgress:
    def test_logs_every_n_items_and_a_completion_line(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        clock = TickingClock()
        progress = Progress("households.import", total=5, every=2, interval=3600, clock=clock)
        for _ in range(5):
            clock.now += 0.5
            progress.advance()
        progress.finish()

        lines = json_lines(capsys)
        assert [(line["event"], line["done"]) for line in lines] == [
            ("progress", 2),
            ("progress", 4),
            ("progress.completed", 5),
        ]
        assert lines[-1]["total"] == 5
        assert lines[-1]["task"] == "households.import"
        assert lines[-1]["rate_per_s"] == 2.0

    def test_logs_when_the_interval_passed_even_below_n_items(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        clock = TickingClock()
        progress = Progress("outbox.replay", every=1000, interval=10, clock=clock)
        progress.advance(3)
        clock.now += 11
        progress.advance(4)

        assert [(line["event"], line["done"]) for line in json_lines(capsys)] == [("progress", 7)]

    def test_context_manager_reports_completion_or_failure(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with progress_logger("cards.issue", total=2, every=10) as progress:
            progress.advance(2)
        with pytest.raises(RuntimeError), progress_logger("cards.issue", every=10) as progress:
            progress.advance()
            raise RuntimeError("broker gone")

        lines = json_lines(capsys)
        assert [(line["event"], line["done"]) for line in lines] == [
            ("progress.completed", 2),
            ("progress.failed", 1),
        ]
        assert lines[1]["error"] == "RuntimeError"
