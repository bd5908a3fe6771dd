"""What a service is (:class:`ServiceDefinition`) and what a running one holds
(:class:`ServiceRuntime`), with the request dependencies that reach it.

Below both :mod:`shared.service`, which starts a runtime from a definition, and the routers
every service mounts (:mod:`shared.admin`), so neither has to import the other.
Services import these names from :mod:`shared.service`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.config import ServiceSettings
from shared.consumer import EventConsumer, On
from shared.outbox import OutboxRelay, PlatformTables
from shared.prefetch import Prefetch
from shared.pseudonym import Pseudonymizer


@dataclass(frozen=True)
class HealthFailure:
    """A failed health check: its name, what failed, extension members for the problem."""

    check: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)


class HealthCheck(Protocol):
    """A check of the service's own state, run elsewhere (a background loop); readiness
    asks it for its last result. While it fails, ``/readyz`` answers 503 naming it, and
    if ``pauses_consumption`` the service's consumers fetch nothing: events wait in the
    broker, none is applied or dead-lettered, until the check holds again."""

    name: str
    pauses_consumption: bool

    def failure(self) -> HealthFailure | None:
        """Why the check fails now, or None while it holds (cheap: no I/O)."""


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group of the service: group id ``<service>.<name>``."""

    name: str
    topics: Sequence[str]
    handlers: Sequence[On]
    #: Rows its handlers look up by key, read per batch (see shared/prefetch.py).
    prefetch: Sequence[Prefetch] = ()


@dataclass
class ServiceDefinition:
    """A service as ``shared.service.create_app`` runs it: tables, routers, consumers, hooks."""

    name: str
    title: str
    metadata: MetaData
    tables: PlatformTables
    routers: Sequence[APIRouter]
    consumers: Sequence[ConsumerSpec] = ()
    import_path_prefixes: Sequence[str] = ()
    on_startup: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    #: Long-running loops (periodic sweeps, tree-head signing) started after start-up and
    #: cancelled, before the consumers stop, on shutdown.
    background: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    #: Health checks, each made (and able to run its first round) before the consumers
    #: start; their loops belong in ``background``.
    health_checks: Sequence[Callable[[ServiceRuntime], Awaitable[HealthCheck]]] = ()
    version: str = "0.1.0"


@dataclass
class ServiceRuntime:
    """Everything a running service holds (``request.app.state.runtime`` in a request)."""

    definition: ServiceDefinition
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer
    pseudonyms: Pseudonymizer
    relay: OutboxRelay | None = None
    #: Sessions for requests that only read (shared.db.create_read_engine): ReadSessionDep.
    read_sessions: async_sessionmaker[AsyncSession] | None = None
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    health_checks: list[HealthCheck] = field(default_factory=list)

    def failed_checks(self) -> list[HealthFailure]:
        """The health checks failing now."""
        return [f for check in self.health_checks if (f := check.failure()) is not None]

    def consumption_paused(self) -> bool:
        """Whether a failing health check holds the consumers back."""
        return any(c.pauses_consumption and c.failure() is not None for c in self.health_checks)

    async def broker_reachable(self) -> bool:
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout=3)
            return True
        except Exception:
            return False


def get_runtime(request: Request) -> ServiceRuntime:
    """The runtime of the service answering ``request`` (set by the app's lifespan)."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_runtime(request).sessions() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    runtime = get_runtime(request)
    async with (runtime.read_sessions or runtime.sessions)() as session:
        yield session


async def _current_runtime(request: Request) -> ServiceRuntime:
    # async: FastAPI runs a plain-def dependency on its thread pool, a round trip per request
    return get_runtime(request)


Runtime = Annotated[ServiceRuntime, Depends(_current_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
#: A session for an endpoint that never writes (see shared.db.create_read_engine).
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
