"""The platform as real processes, the way ``make run`` starts it, for a benchmark.

:class:`Cluster` drives the local launcher (:class:`deploy.local.launcher.Platform`): the
embedded broker on a free port, one uvicorn process per service on free ports, a temporary
data directory, and each service's database given by URL (SQLite files or fresh PostgreSQL
databases). :func:`wait_until_settled` polls every service's ``/metrics`` until every
event published anywhere has been consumed by every consumer group that reads its topic
and no outbox holds an unsent row.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from bench.common import cpu_seconds_of, environment, memory_of
from deploy.local.launcher import Platform, jwt_secret
from shared.auth import Role, mint_token
from shared.events import SERVICES, topic_for
from shared.localbroker import free_port

Samples = dict[str, list[tuple[dict[str, str], float]]]


def consumer_topics(services: Sequence[str]) -> dict[str, list[str]]:
    """Consumer group id -> the topics it reads, from each service's definition."""
    groups: dict[str, list[str]] = {}
    for name in services:
        definition = importlib.import_module(f"services.{name}.app").DEFINITION
        for spec in definition.consumers:
            groups[f"{name}.{spec.name}"] = list(spec.topics)
    return groups


@dataclass
class Cluster:
    """Broker and services in their own processes; use ``async with``."""

    data_dir: Path
    database_urls: Mapping[str, str]
    services: Sequence[str] = SERVICES
    settings: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None

    def _environment(self) -> dict[str, str]:
        env = {"ANSINH_BROKER_PORT": str(free_port()), **self.settings}
        for name in self.services:
            prefix = f"ANSINH_{name.upper()}_"
            env[prefix + "PORT"] = str(free_port())
            env[prefix + "DATABASE_URL"] = self.database_urls[name]
        return env

    async def __aenter__(self) -> Cluster:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with environment(self._environment()):
            self.platform = Platform(
                self.data_dir, list(self.services), console=Console(quiet=True)
            )
            try:
                await asyncio.to_thread(self.platform.start)
            except BaseException:
                self.platform.stop(1)
                raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.platform is not None:
            # The launcher's stop restores signal handlers, so it runs on the main thread.
            self.platform.stop(0)

    @property
    def bootstrap(self) -> str:
        assert self.platform is not None
        return self.platform.bootstrap

    def url(self, service: str) -> str:
        assert self.platform is not None
        return next(p.url for p in self.platform.running if p.name == service)

    def pid(self, service: str) -> int:
        assert self.platform is not None
        return next(p.process.pid for p in self.platform.running if p.name == service)

    def token(self, role: Role = Role.ADMIN) -> str:
        secret = jwt_secret(self.data_dir, create=False)
        assert secret is not None  # the launcher created it
        return mint_token(
            secret, subject=f"bench-{role}", role=role, services=SERVICES, communes=["*"]
        )

    def headers(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}"}

    def memory(self) -> dict[str, dict[str, float | None]]:
        return {name: memory_of(self.pid(name)) for name in self.services}

    def cpu(self) -> dict[str, float | None]:
        """CPU seconds each service process has used so far."""
        return {name: cpu_seconds_of(self.pid(name)) for name in self.services}

    def exited(self) -> list[str]:
        assert self.platform is not None
        return [
            p.failure(f"exited with {p.exit_code()}")
            for p in self.platform.running
            if p.exit_code() is not None
        ]


async def scrape(client: httpx.AsyncClient, url: str) -> Samples:
    """A service's ``/metrics``: sample name -> [(labels, value)]."""
    response = await client.get(f"{url}/metrics")
    response.raise_for_status()
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name].append((dict(sample.labels), float(sample.value)))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        v for found, v in samples.get(name, ()) if all(found.get(k) == x for k, x in labels.items())
    )


@dataclass
class Flow:
    """Where every event stands, from the services' own metrics."""

    published: dict[str, float]
    consumed: dict[str, float]
    expected: dict[str, float]
    backlog: dict[str, float]
    lag: float
    dead_letters: float
    duplicates: float

    @property
    def settled(self) -> bool:
        caught_up = all(self.consumed[g] >= self.expected[g] for g in self.expected)
        return caught_up and not any(self.backlog.values()) and self.lag == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "consumed": self.consumed,
            "dead_letters": self.dead_letters,
            "duplicates_skipped": self.duplicates,
            "events_published": sum(self.published.values()),
        }


async def flow(
    client: httpx.AsyncClient, cluster: Cluster, groups: Mapping[str, Sequence[str]]
) -> Flow:
    """One poll of every service's metrics."""
    scraped = dict(
        zip(
            cluster.services,
            await asyncio.gather(*(scrape(client, cluster.url(s)) for s in cluster.services)),
            strict=True,
        )
    )
    published = {s: total(m, "ansinh_events_published_total") for s, m in scraped.items()}
    by_topic = {topic_for(s): n for s, n in published.items()}
    consumed, expected = {}, {}
    for group, topics in groups.items():
        service = group.split(".", 1)[0]
        consumed[group] = total(scraped[service], "ansinh_events_consumed_total", group=group)
        expected[group] = sum(by_topic.get(t, 0.0) for t in topics)
    return Flow(
        published=published,
        consumed=consumed,
        expected=expected,
        backlog={s: total(m, "ansinh_outbox_backlog") for s, m in scraped.items()},
        lag=sum(total(m, "ansinh_consumer_lag") for m in scraped.values()),
        dead_letters=sum(total(m, "ansinh_dead_letters_total") for m in scraped.values()),
        duplicates=sum(
            total(m, "ansinh_events_consumed_total", outcome="duplicate") for m in scraped.values()
        ),
    )


async def wait_until_settled(
    client: httpx.AsyncClient,
    cluster: Cluster,
    *,
    within: float = 3600.0,
    poll: float = 0.25,
    quiet_polls: int = 3,
) -> tuple[Flow, float]:
    """Poll until the flow is settled and unchanged for ``quiet_polls`` polls in a row;
    the flow and the monotonic time of the first of those polls.

    Several unchanged polls, because a consumer's follow-up events sit in its outbox for
    a moment before the relay publishes them (and the backlog gauge moves).
    """
    groups = consumer_topics(cluster.services)
    deadline = time.monotonic() + within
    quiet, previous, since = 0, None, time.monotonic()
    while True:
        polled = time.monotonic()
        current = await flow(client, cluster, groups)
        same = previous is not None and current.published == previous.published
        if current.settled and (same or previous is None):
            since = since if quiet else polled
            quiet += 1
        else:
            quiet = 0
        if quiet >= quiet_polls:
            return current, since
        if failed := cluster.exited():
            raise RuntimeError("; ".join(failed))
        if time.monotonic() > deadline:
            raise TimeoutError(f"not settled within {within:g} s: {current.as_json()}")
        previous = current
        await asyncio.sleep(poll)
