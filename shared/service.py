"""The wiring every service shares: one FastAPI app with the platform's middleware, health
endpoints, database, migrations, outbox relay and consumers, started and stopped together.

A service describes itself with a :class:`ServiceDefinition`; ``create_app`` does the rest,
so knowing one service's app.py means knowing all five.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.admin import admin_router
from shared.auth import AuthConfig, TokenVerifier, install_auth, load_or_create_local_secret
from shared.config import ServiceSettings
from shared.consumer import EventConsumer
from shared.db import create_engine, create_read_engine, database_reachable, session_factory
from shared.inputs import UUID_PATTERN, ResourceId  # noqa: F401 - re-exported
from shared.kafka import ensure_topics, new_producer, wait_for_broker
from shared.metrics import HttpMetricsMiddleware, metrics_response
from shared.migrations import upgrade_to_head
from shared.observability import (
    RequestContextMiddleware,
    configure_logging,
    configure_tracing,
    get_logger,
    instrument_fastapi,
)
from shared.outbox import OutboxRelay, mark_all_unsent
from shared.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_RESPONSES,
    BodySizeLimitMiddleware,
    ProblemDetails,
    install_problem_handlers,
)
from shared.pseudonym import Pseudonymizer
from shared.runtime import ConsumerSpec as ConsumerSpec
from shared.runtime import HealthCheck as HealthCheck
from shared.runtime import HealthFailure, ServiceDefinition, ServiceRuntime
from shared.runtime import ReadSessionDep as ReadSessionDep
from shared.runtime import Runtime as Runtime
from shared.runtime import SessionDep as SessionDep
from shared.service_client import ClientCredentials, ServiceClient, ServiceTokens

log = get_logger(__name__)


def secret_value(settings: ServiceSettings, field_name: str, file_name: str) -> str:
    """A configured secret, or (embedded mode) one generated once under the data directory."""
    configured = getattr(settings, field_name)
    if configured is not None:
        return str(configured.get_secret_value())
    return load_or_create_local_secret(settings.secret_file(file_name))


def service_client(settings: ServiceSettings, base_url: str) -> ServiceClient:
    """A client for another service's API, authenticated as this service."""
    if settings.oidc_token_url and settings.oidc_client_id and settings.oidc_client_secret:
        tokens = ServiceTokens(
            settings.service_name,
            credentials=ClientCredentials(
                settings.oidc_token_url,
                settings.oidc_client_id,
                settings.oidc_client_secret.get_secret_value(),
            ),
        )
    else:
        tokens = ServiceTokens(
            settings.service_name,
            local_secret=secret_value(settings, "jwt_secret", "jwt-hs256.key"),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    return ServiceClient(base_url, tokens)


def auth_config(settings: ServiceSettings) -> AuthConfig:
    secret = None if settings.jwks_url else secret_value(settings, "jwt_secret", "jwt-hs256.key")
    return AuthConfig(
        jwt_secret=secret,
        jwks_url=settings.jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


async def start_runtime(definition: ServiceDefinition, settings: ServiceSettings) -> ServiceRuntime:
    url = settings.effective_database_url
    await upgrade_to_head(definition.name, url)
    engine = create_engine(url)
    relay_box: dict[str, OutboxRelay] = {}
    sessions = session_factory(
        engine, outbox_waker=lambda: relay_box["relay"].wake() if "relay" in relay_box else None
    )
    await wait_for_broker(settings.kafka_bootstrap_servers, timeout=60)
    await ensure_topics(settings.kafka_bootstrap_servers)
    producer = new_producer(
        settings.kafka_bootstrap_servers,
        client_id=f"ansinh-{definition.name}",
        idempotent=settings.kafka_enable_idempotence,
    )
    await producer.start()
    runtime = ServiceRuntime(
        definition=definition,
        settings=settings,
        engine=engine,
        sessions=sessions,
        read_sessions=session_factory(create_read_engine(engine)),
        producer=producer,
        pseudonyms=Pseudonymizer(secret_value(settings, "pseudonym_secret", "pseudonym-hmac.key")),
    )
    if settings.republish_on_start:
        count = await mark_all_unsent(engine, definition.tables)
        log.info("outbox.republish", events=count)
    for make_check in definition.health_checks:
        runtime.health_checks.append(await make_check(runtime))
    if settings.run_relay:
        runtime.relay = OutboxRelay(
            service=definition.name,
            engine=engine,
            tables=definition.tables,
            producer=producer,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
        )
        relay_box["relay"] = runtime.relay
        runtime.relay.start()
    if settings.run_consumers:
        for spec in definition.consumers:
            consumer = EventConsumer(
                service=definition.name,
                group_id=f"{definition.name}.{spec.name}",
                topics=spec.topics,
                handlers=spec.handlers,
                sessions=sessions,
                tables=definition.tables,
                bootstrap=settings.kafka_bootstrap_servers,
                producer=producer,
                batch_size=settings.consumer_batch_size,
                max_attempts=settings.consumer_max_attempts,
                backoff_seconds=settings.consumer_retry_backoff_seconds,
                session_timeout_ms=settings.kafka_session_timeout_ms,
                prefetch=spec.prefetch,
                paused=runtime.consumption_paused,
            )
            await consumer.start()
            runtime.consumers.append(consumer)
    for hook in definition.on_startup:
        await hook(runtime)
    for loop in definition.background:
        runtime.tasks.append(asyncio.create_task(_logged(loop, runtime), name=loop.__name__))
    return runtime


async def _logged(
    loop: Callable[[ServiceRuntime], Awaitable[None]], runtime: ServiceRuntime
) -> None:
    try:
        await loop(runtime)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background.crashed", task=loop.__name__)
        raise


async def stop_runtime(runtime: ServiceRuntime) -> None:
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    for consumer in runtime.consumers:
        await consumer.stop()
    if runtime.relay is not None:
        await runtime.relay.stop()
    await runtime.producer.stop()
    if runtime.read_sessions is not None:
        read_engine = runtime.read_sessions.kw.get("bind")
        if isinstance(read_engine, AsyncEngine) and read_engine is not runtime.engine:
            await read_engine.dispose()
    await runtime.engine.dispose()


def create_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    """The service's ASGI app; its lifespan owns the database, relay and consumers."""
    configure_logging(definition.name, settings.log_level, json=settings.log_json)
    provider = configure_tracing(definition.name, settings.otel_exporter, settings.otel_endpoint)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(definition, settings)
        app.state.runtime = runtime
        log.info(
            "service.started",
            port=settings.effective_port,
            database=runtime.engine.dialect.name,
            broker=settings.kafka_bootstrap_servers,
        )
        try:
            yield
        finally:
            await stop_runtime(runtime)
            log.info("service.stopped")

    app = FastAPI(
        title=f"An Sinh — {definition.title}", version=definition.version, lifespan=lifespan
    )
    install_problem_handlers(app)
    install_auth(app, TokenVerifier(auth_config(settings)), definition.name)
    overrides = {prefix: settings.max_import_bytes for prefix in definition.import_path_prefixes}
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, overrides=overrides
    )
    app.add_middleware(HttpMetricsMiddleware, service=definition.name)
    app.add_middleware(RequestContextMiddleware)
    instrument_fastapi(app, provider)
    app.include_router(health_router())
    app.include_router(admin_router())
    for router in definition.routers:
        app.include_router(router)
    document_problems(app)
    return app


def document_problems(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document say what its problem handlers send.

    Every 4xx/5xx response becomes ``application/problem+json`` (:class:`ProblemDetails`, or
    the route's own problem model), FastAPI's generic 422 included; operations behind a
    bearer token may answer 401, and operations with a request body 400 and 413.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        described = app.openapi_schema is not None
        document = generate()
        if not described:
            _describe_problems(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


_SCHEMAS = "#/components/schemas/"
_FASTAPI_422 = {"$ref": f"{_SCHEMAS}HTTPValidationError"}


def _describe_problems(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemDetails.model_json_schema(ref_template=_SCHEMAS + "{model}")
    for name, definition in {**problem.pop("$defs", {}), "ProblemDetails": problem}.items():
        schemas.setdefault(name, definition)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code in _generic_problems(operation):
                description = PROBLEM_RESPONSES[code]["description"]
                responses.setdefault(str(code), {"description": description})
            for status, response in responses.items():
                if status[0] in "45":
                    schema = response.get("content", {}).get("application/json", {}).get("schema")
                    if schema in (None, _FASTAPI_422):
                        schema = {"$ref": f"{_SCHEMAS}ProblemDetails"}
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": schema}}
    paths = json.dumps(document.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"{_SCHEMAS}{unused}"' not in paths:
            schemas.pop(unused, None)


def _generic_problems(operation: dict[str, Any]) -> list[int]:
    """What any operation of its kind may answer, whatever its route declares."""
    codes = [401] if operation.get("security") else []
    if "requestBody" in operation:
        codes += [400, 413]  # a body that cannot be decoded; one over the size limit
    return codes


def _not_ready(checks: dict[str, bool], failed: list[HealthFailure]) -> JSONResponse:
    """503 as an RFC 9457 problem naming each failed health check (and its extensions)."""
    body = {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "; ".join(f"{f.check}: {f.detail}" for f in failed),
        "checks": {**checks, **{f.check: False for f in failed}},
        "failed_checks": [{"check": f.check, "detail": f.detail, **f.extra} for f in failed],
    }
    return JSONResponse(body, status_code=503, media_type=PROBLEM_MEDIA_TYPE)


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Database and broker are reachable")
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        if runtime is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks = {
            "database": await database_reachable(runtime.engine),
            "broker": await runtime.broker_reachable(),
        }
        failed = runtime.failed_checks()
        if failed:
            return _not_ready(checks, failed)
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        return metrics_response()

    return router
