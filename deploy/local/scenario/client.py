"""How the scenario talks to a running platform: its real HTTP APIs, as an admin.

:class:`PlatformClient` holds one ``httpx.AsyncClient`` per service, authenticated with an
admin token minted from the data directory's secret, and bounds the requests in flight per
service (SQLite serialises writes, so more parallelism only queues). A 502/503/504 or a
connection error is retried with backoff; any other unexpected status raises
:class:`ScenarioError` quoting the problem document.

:meth:`PlatformClient.settle` waits until the events written so far have been published
and consumed everywhere (outbox backlog and consumer lag zero, nothing consumed for a
moment), so a stage can rely on what the previous one caused in the other services.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.launcher import broker_port, jwt_secret, read_state
from deploy.local.status import platform_ports
from shared.auth import ALL_COMMUNES, Role, mint_token
from shared.events import SERVICES

T = TypeVar("T")
R = TypeVar("R")

RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_ATTEMPTS = 8
TOKEN_TTL = timedelta(hours=12)


class ScenarioError(RuntimeError):
    """A request the scenario needed was refused or the platform is not there.

    ``transient`` when the service failed rather than refused (a 5xx, a dropped
    connection): playing the stage again, which resumes where it stopped, may succeed.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def admin_token(data_dir: Path) -> str:
    """An admin token over every service and commune, signed with the platform's secret."""
    secret = jwt_secret(data_dir, create=False)
    if secret is None:
        raise ScenarioError(
            f"no signing secret under {data_dir.resolve() / 'secrets'}: start the platform "
            "first (`ansinh up`)"
        )
    return mint_token(
        secret,
        subject="local-scenario",
        role=Role.ADMIN,
        services=SERVICES,
        communes=[ALL_COMMUNES],
        ttl=TOKEN_TTL,
    )


def broker_bootstrap(data_dir: Path) -> str:
    """The broker the platform on ``data_dir`` uses (its state file, else the environment)."""
    state = read_state(data_dir)
    if state is not None and isinstance(state.get("broker"), str):
        return str(state["broker"])
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{broker_port()}"


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title") or ""
        errors = body.get("errors") or (body.get("report") or {}).get("errors") or []
        return f"{detail} {errors[:3]}" if errors else str(detail)
    return str(body)[:500]


class PlatformClient:
    """The platform's APIs over HTTP; use ``async with PlatformClient.open(...)``."""

    def __init__(self, urls: Mapping[str, str], token: str, concurrency: int = 6) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        timeout = httpx.Timeout(120.0, connect=10.0)
        self.urls = dict(urls)
        self.http = {
            name: httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout)
            for name, url in self.urls.items()
        }
        self.slots = {name: asyncio.Semaphore(concurrency) for name in self.urls}

    @classmethod
    def open(cls, data_dir: Path, concurrency: int = 6) -> PlatformClient:
        """A client of the platform running on ``data_dir`` (ports from its state file)."""
        urls = {name: f"http://127.0.0.1:{port}" for name, port in platform_ports(data_dir).items()}
        return cls(urls, admin_token(data_dir), concurrency)

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(client.aclose() for client in self.http.values()))

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        accept: Iterable[int] = (200, 201),
        **kwargs: Any,
    ) -> httpx.Response:
        """The response when its status is in ``accept``; retried while the service is busy."""
        if service not in self.http:
            raise ScenarioError(f"service {service} is not running")
        accepted = frozenset(accept)
        delay = 0.25
        for attempt in range(RETRY_ATTEMPTS):
            try:
                async with self.slots[service]:
                    response = await self.http[service].request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if attempt == RETRY_ATTEMPTS - 1:
                    message = f"{service} {method} {path}: {exc!r}"
                    raise ScenarioError(message, transient=True) from exc
            else:
                if response.status_code in accepted:
                    return response
                if response.status_code not in RETRY_STATUSES or attempt == RETRY_ATTEMPTS - 1:
                    raise ScenarioError(
                        f"{service} {method} {path} → {response.status_code}: {_problem(response)}",
                        transient=response.status_code >= 500,
                    )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    async def get(self, service: str, path: str, **params: Any) -> Any:
        """The JSON of a GET (None-valued query parameters left out)."""
        query = {k: v for k, v in params.items() if v is not None}
        return (await self.request(service, "GET", path, params=query)).json()

    async def post(self, service: str, path: str, body: Any, **kwargs: Any) -> Any:
        return (await self.request(service, "POST", path, json=body, **kwargs)).json()

    async def put(self, service: str, path: str, body: Any) -> Any:
        return (await self.request(service, "PUT", path, json=body)).json()

    async def upload_csv(self, service: str, path: str, content: bytes | Path) -> Any:
        """POST a CSV file as the request body (an import endpoint); its report."""
        data = await asyncio.to_thread(content.read_bytes) if isinstance(content, Path) else content
        response = await self.request(
            service,
            "POST",
            path,
            content=data,
            headers={"content-type": "text/csv; charset=utf-8"},
            timeout=httpx.Timeout(3600.0, connect=10.0),
        )
        return response.json()

    async def pages(self, service: str, path: str, **params: Any) -> list[Any]:
        """Every item of a cursor-paged list (``items`` and ``next_cursor``)."""
        items: list[Any] = []
        after: str | None = None
        while True:
            page = await self.get(service, path, limit=500, after=after, **params)
            items.extend(page["items"])
            after = page["next_cursor"]
            if after is None:
                return items

    async def settle(self, consumers: Iterable[str] | None = None, within: float = 3600.0) -> None:
        """Wait until every outbox is published and the ``consumers`` (services; default
        all) have caught up: no lag, and nothing consumed for two polls in a row."""
        watched = set(self.urls if consumers is None else consumers)
        deadline = asyncio.get_running_loop().time() + within
        quiet, previous = 0, -1.0
        while quiet < 2:
            backlog, lag, consumed = await self._event_counters(watched)
            caught_up = backlog == 0 and lag == 0
            quiet = quiet + 1 if caught_up and consumed == previous else 0
            previous = consumed
            if asyncio.get_running_loop().time() > deadline:
                raise ScenarioError(
                    f"events did not settle within {within:g} s "
                    f"(outbox backlog {backlog}, consumer lag {lag})"
                )
            await asyncio.sleep(1.0)

    async def _event_counters(self, consumers: set[str]) -> tuple[int, int, float]:
        """Outbox backlog of every service; lag and events consumed of ``consumers``."""
        backlog = lag = 0
        consumed = 0.0
        for name in self.urls:
            text = (await self.request(name, "GET", "/metrics")).text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.labels.get("service") != name:
                        continue
                    if sample.name == "ansinh_outbox_backlog":
                        backlog += int(sample.value)
                    elif name not in consumers:
                        continue
                    elif sample.name == "ansinh_consumer_lag":
                        lag += int(sample.value)
                    elif sample.name == "ansinh_events_consumed_total":
                        consumed += sample.value
        return backlog, lag, consumed


async def each(
    items: Iterable[T],
    work: Callable[[T], Awaitable[R]],
    *,
    advance: Callable[[int], None] | None = None,
    width: int = 32,
) -> list[R]:
    """``work`` applied to every item, at most ``width`` at a time, results in item order.

    ``advance(1)`` is called as each finishes (a progress bar). The first failure cancels
    the rest and is raised.
    """
    gate = asyncio.Semaphore(width)

    async def one(item: T) -> R:
        async with gate:
            result = await work(item)
        if advance is not None:
            advance(1)
        return result

    tasks = [asyncio.ensure_future(one(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
