"""HTTP metrics are labelled by route template and status; /metrics serves every metric."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import Response
from prometheus_client import REGISTRY
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from shared.metrics import (
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_CONSUMED,
    HttpMetricsMiddleware,
    metrics_response,
)

METRIC_NAMES = (
    "ansinh_http_requests_total",
    "ansinh_http_request_duration_seconds",
    "ansinh_events_published_total",
    "ansinh_events_consumed_total",
    "ansinh_dead_letters_total",
    "ansinh_outbox_backlog",
    "ansinh_consumer_lag",
    "ansinh_relay_batch_duration_seconds",
)


@pytest.fixture
def service() -> str:
    """A service label no other test uses, so counts start at zero."""
    return f"metrics-{uuid.uuid4().hex[:8]}"


async def dashboard_assets(scope: Scope, receive: Receive, send: Send) -> None:
    """A mounted ASGI app with no router of its own, like static files."""
    await PlainTextResponse("body {}")(scope, receive, send)


def households_app(service: str) -> FastAPI:
    router = APIRouter(prefix="/households")

    @router.get("/{household_id}")
    async def read_household(household_id: str) -> dict[str, str]:
        if household_id == "missing":
            raise HTTPException(status_code=404, detail="no such household")
        return {"id": household_id}

    @router.get("/{household_id}/crash")
    async def crash(household_id: str) -> None:
        raise RuntimeError("database gone")

    sub_app = FastAPI()

    @sub_app.get("/cards/{card_id}")
    async def read_card(card_id: str) -> dict[str, str]:
        return {"id": card_id}

    app = FastAPI()
    app.include_router(APIRouter(prefix="/api"))
    outer = APIRouter(prefix="/v1")
    outer.include_router(router)
    app.include_router(outer)
    app.mount("/partner", sub_app)
    app.mount("/assets", dashboard_assets)

    @app.get("/metrics")
    async def metrics() -> Response:
        return metrics_response()

    app.add_middleware(HttpMetricsMiddleware, service=service)
    return app


async def call(app: FastAPI, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


def requests_counted(service: str, method: str, route: str, status: int) -> float:
    labels = {"service": service, "method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("ansinh_http_requests_total", labels) or 0.0


def latency_observations(service: str, method: str, route: str) -> float:
    labels = {"service": service, "method": method, "route": route}
    return REGISTRY.get_sample_value("ansinh_http_request_duration_seconds_count", labels) or 0.0


class TestHttpMetricsMiddleware:
    async def test_counts_by_full_route_template_not_raw_path(self, service: str) -> None:
        app = households_app(service)
        await call(app, "GET", "/v1/households/h-1")
        await call(app, "GET", "/v1/households/h-2")

        template = "/v1/households/{household_id}"
        assert requests_counted(service, "GET", template, 200) == 2
        assert latency_observations(service, "GET", template) == 2
        assert requests_counted(service, "GET", "/v1/households/h-1", 200) == 0

    async def test_matched_route_keeps_its_template_whatever_the_status(self, service: str) -> None:
        app = households_app(service)
        assert (await call(app, "GET", "/v1/households/missing")).status_code == 404
        assert (await call(app, "DELETE", "/v1/households/h-1")).status_code == 405
        assert (await call(app, "GET", "/v1/households/h-1/crash")).status_code == 500

        assert requests_counted(service, "GET", "/v1/households/{household_id}", 404) == 1
        assert requests_counted(service, "DELETE", "/v1/households/{household_id}", 405) == 1
        assert requests_counted(service, "GET", "/v1/households/{household_id}/crash", 500) == 1

    async def test_unmatched_paths_share_one_label(self, service: str) -> None:
        app = households_app(service)
        await call(app, "GET", "/wp-admin/setup.php")
        await call(app, "GET", "/etc/passwd")

        assert requests_counted(service, "GET", "unmatched", 404) == 2

    async def test_mounted_app_routes_keep_the_mount_prefix(self, service: str) -> None:
        app = households_app(service)
        await call(app, "GET", "/partner/cards/c-9")
        await call(app, "GET", "/partner/no/such/thing")

        assert requests_counted(service, "GET", "/partner/cards/{card_id}", 200) == 1
        assert requests_counted(service, "GET", "/partner/{path}", 404) == 1

    async def test_mounted_app_without_router_is_labelled_by_its_mount(self, service: str) -> None:
        await call(households_app(service), "GET", "/assets/css/site.css")
        await call(households_app(service), "GET", "/assets/js/app.js")

        assert requests_counted(service, "GET", "/assets/{path}", 200) == 2

    async def test_unknown_methods_share_one_label(self, service: str) -> None:
        await call(households_app(service), "BREW", "/v1/households/h-1")

        assert requests_counted(service, "OTHER", "/v1/households/{household_id}", 405) == 1

    async def test_metrics_endpoint_is_not_counted(self, service: str) -> None:
        await call(households_app(service), "GET", "/metrics")

        assert requests_counted(service, "GET", "/metrics", 200) == 0
        assert requests_counted(service, "GET", "unmatched", 200) == 0


class TestMetricsResponse:
    def test_serves_every_metric_in_prometheus_text_format(self) -> None:
        response = metrics_response()

        assert response.media_type is not None
        assert response.media_type.startswith("text/plain")
        text = bytes(response.body).decode()
        for name in METRIC_NAMES:
            assert f"# TYPE {name}" in text

    async def test_endpoint_shows_recorded_values(self, service: str) -> None:
        app = households_app(service)
        EVENTS_CONSUMED.labels(service, "audit.ledger", "vn.ansinh.x.y.v1", "duplicate").inc()
        DEAD_LETTERS.labels(service, "audit.ledger").inc(3)
        CONSUMER_LAG.labels(service, "audit.ledger", "ansinh.households.v1", "0").set(12)
        await call(app, "GET", "/v1/households/h-1")

        text = (await call(app, "GET", "/metrics")).text

        assert (
            f'ansinh_http_requests_total{{method="GET",route="/v1/households/{{household_id}}",'
            f'service="{service}",status="200"}} 1.0' in text
        )
        assert f'ansinh_dead_letters_total{{group="audit.ledger",service="{service}"}} 3.0' in text
        assert (
            f'ansinh_consumer_lag{{group="audit.ledger",partition="0",'
            f'service="{service}",topic="ansinh.households.v1"}} 12.0' in text
        )
        assert 'outcome="duplicate"' in text
