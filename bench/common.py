"""What every stage shares: options, the machine, percentiles, databases to run on.

A stage is ``async def run(options, workdir) -> dict``; the dict holds its figures (plain
JSON) and a ``rows`` list of :class:`Row` for the Markdown table, each figure beside the
baseline measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import asyncpg

Database = Literal["sqlite", "postgresql"]
PG_ADMIN_DSN = os.environ.get(
    "ANSINH_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Options:
    """The command line, resolved: sizes already reduced when ``quick``."""

    households: int = 100_000
    quick: bool = False
    databases: tuple[Database, ...] = ("sqlite",)
    rate: int = 500
    rate_seconds: float = 60.0
    latency_households: int = 2_000
    ledger_events: int = 1_000_000
    api_seconds: float = 30.0
    api_connections: int = 32
    loadgen: Literal["auto", "wrk", "python"] = "auto"
    profile: str | None = None
    assess_concurrency: int = 16

    def describe(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Row:
    """One line of the results table: a figure beside its baseline and the issue's target."""

    stage: str
    measure: str
    database: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_what: str = ""
    target: str = ""
    meets: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Timer:
    """Wall-clock phases of one run, in seconds since the timer started."""

    started: float = field(default_factory=time.monotonic)
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> float:
        self.marks[name] = round(time.monotonic() - self.started, 3)
        return self.marks[name]


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max of ``values`` (seconds in, milliseconds out); None when empty."""
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None, "count": 0}
    ordered = sorted(values)
    if len(ordered) == 1:
        p50 = p99 = ordered[0]
    else:
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    return {
        "p50_ms": round(p50 * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "count": len(ordered),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_mb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory_mb = int(first.split()[1]) // 1024
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_mb": memory_mb,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def cpu_seconds_of(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def memory_of(pid: int) -> dict[str, float | None]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MB."""
    found: dict[str, float | None] = {"rss_mb": None, "peak_rss_mb": None}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            key = "rss_mb" if name == "VmRSS" else "peak_rss_mb"
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


async def postgres_reachable() -> bool:
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


@contextlib.asynccontextmanager
async def postgres_databases(names: Sequence[str]) -> AsyncIterator[dict[str, str]]:
    """A fresh PostgreSQL database for each name (SQLAlchemy URLs); dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    created = {name: f"ansinh_bench_{name}_{tag}" for name in names}
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for database in created.values():
            await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    try:
        yield {
            name: f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
            for name, database in created.items()
        }
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            for database in created.values():
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def database_urls(
    database: Database, workdir: Path, names: Sequence[str]
) -> AsyncIterator[dict[str, str]]:
    """Where each named service keeps its data: a SQLite file in ``workdir``, or a fresh
    PostgreSQL database dropped on exit."""
    if database == "postgresql":
        async with postgres_databases(names) as urls:
            yield urls
        return
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    yield {name: f"sqlite+aiosqlite:///{workdir / (name + '.db')}" for name in names}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for child processes, restoring the old ones on exit."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return round(value / baseline, 3)
