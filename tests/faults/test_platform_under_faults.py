"""The platform under faults: nothing acknowledged is lost, nothing is applied twice.

One `ansinh up` of every service, a stream of household registrations through the API
(events flow to employment, insurance, housing and into the audit ledger), and, while it
flows, in turn:

1. ``kill -9`` of each service: the launcher's supervisor restarts it.
2. ``kill -9`` of the embedded broker (memory storage: it comes back empty): the supervisor
   stops every service, restarts the broker, then the services, which republish their
   outboxes; consumers read the new log from its start.
3. A crash restart (``pg_ctl restart -m immediate``) of the PostgreSQL server households
   writes to: a private server (initdb/pg_ctl in a temp dir, free port), never the machine's
   shared cluster.
4. A full disk under employment's SQLite database: a real tmpfs of 32 MiB filled to the last
   byte (``mount -t tmpfs``, as root), then freed. Where mounting is not permitted this step
   is skipped and says so; nothing emulates it.

Then the checker counts, service by service, against the origin (tests/faults/checker.py),
prints the tally, and asserts 0 lost and 0 duplicated; ``ansinh verify`` checks the ledger's
signed tree head and its consistency with the head verified before the faults.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.e2e.test_launcher import Launched, launch
from tests.faults import checker
from tests.faults.environment import (
    PrivatePostgres,
    SmallDisk,
    broker_pid,
    kill_9,
    private_postgres,
    service_pid,
)
from tests.faults.stream import RegistrationStream
from tests.support import bearer
from tests.support import token as local_token

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

SERVICES = ("households", "employment", "insurance", "housing", "audit")
CONSUMERS = ("employment", "insurance", "housing", "audit")
WRITES_BETWEEN_FAULTS = 5
CONVERGE_SECONDS = 150


def wait_for(check: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:g} s: {what}")
        time.sleep(0.3)


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def signed_size(launched: Launched) -> int:
    audit = f"http://127.0.0.1:{launched.ports['audit']}"
    inspector = bearer(local_token(launched.data_dir, "inspector"))
    try:
        response = httpx.get(f"{audit}/ledger/tree-heads/latest", headers=inspector, timeout=5)
    except httpx.HTTPError:
        return 0
    return int(response.json()["tree_size"]) if response.status_code == 200 else 0


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        if server is None:
            pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        yield server


@pytest.fixture
def small_disk() -> Iterator[SmallDisk | None]:
    disk = SmallDisk()
    mounted = disk.mount()
    try:
        yield disk if mounted else None
    finally:
        disk.free()
        if mounted:
            disk.unmount()


@pytest.fixture
def platform(
    tmp_path: Path,
    postgres: PrivatePostgres,
    small_disk: SmallDisk | None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Launched]:
    """Every service under `ansinh up`; households on the private server, employment on the
    small disk (when mounted), heads signed every half second."""
    monkeypatch.setenv("ANSINH_HOUSEHOLDS_DATABASE_URL", postgres.url)
    if small_disk is not None:
        url = f"sqlite+aiosqlite:///{small_disk.path / 'employment.db'}"
        monkeypatch.setenv("ANSINH_EMPLOYMENT_DATABASE_URL", url)
    monkeypatch.setenv("ANSINH_AUDIT_TREE_HEAD_INTERVAL_SECONDS", "0.5")
    with launch(tmp_path, SERVICES, "--no-seed") as launched:
        yield launched


def stores(launched: Launched, postgres: PrivatePostgres, disk: SmallDisk | None) -> dict:
    found = {name: checker.Store(sqlite=launched.data_dir / f"{name}.db") for name in CONSUMERS}
    if disk is not None:
        found["employment"] = checker.Store(sqlite=disk.path / "employment.db")
    found["households"] = checker.Store(postgres=postgres.dsn)
    return found


def tally(
    launched: Launched, postgres: PrivatePostgres, disk: SmallDisk | None, acked: list[str]
) -> list[checker.Tally]:
    where = stores(launched, postgres, disk)
    events = checker.origin_events(where["households"])
    rows = [checker.origin_tally(acked, events)]
    for name in CONSUMERS:
        row = checker.consumer_tally(name, where[name], events)
        assert row is not None, f"{name} subscribes to no households event"
        rows.append(row)
    return rows


def kill_and_await_restart(launched: Launched, name: str) -> None:
    """kill -9 the service ``name``; return once another process of it answers /readyz."""
    launcher = launched.process.pid
    pid = service_pid(launcher, name)
    assert pid is not None, f"no {name} process under the launcher"
    kill_9(pid)
    wait_for(lambda: service_pid(launcher, name) not in (None, pid), f"{name} restarted")
    wait_for(lambda: ready(launched.ports[name]), f"{name} ready again after kill -9")


def test_nothing_acknowledged_is_lost_or_applied_twice_under_faults(
    platform: Launched, postgres: PrivatePostgres, small_disk: SmallDisk | None
) -> None:
    launcher = platform.process.pid
    admin = bearer(local_token(platform.data_dir))
    stream = RegistrationStream(platform.households_url, admin)
    stream.start()
    try:
        assert stream.acknowledged_after(0, WRITES_BETWEEN_FAULTS), "no write acknowledged"
        wait_for(lambda: signed_size(platform) > 0, "a first signed tree head")
        before = platform.ansinh("verify", "--data-dir", str(platform.data_dir))
        assert before.returncode == 0, before.stdout + before.stderr

        for name in SERVICES:
            kill_and_await_restart(platform, name)
            assert stream.acknowledged_after(len(stream.acknowledged), WRITES_BETWEEN_FAULTS)

        pid = broker_pid(launcher, platform.broker_port)
        assert pid is not None, "no broker process under the launcher"
        kill_9(pid)
        wait_for(lambda: broker_pid(launcher, platform.broker_port) not in (None, pid), "broker")
        assert stream.acknowledged_after(len(stream.acknowledged), WRITES_BETWEEN_FAULTS)

        postgres.crash_restart()  # mid-batch: the stream keeps writing through it
        assert stream.acknowledged_after(len(stream.acknowledged), WRITES_BETWEEN_FAULTS)

        if small_disk is not None:
            small_disk.fill()
            log = platform.data_dir / "logs" / "employment.log"
            wait_for(lambda: "disk is full" in log.read_text(errors="replace"), "disk full bit")
            assert stream.acknowledged_after(len(stream.acknowledged), WRITES_BETWEEN_FAULTS)
            small_disk.free()
        assert stream.acknowledged_after(len(stream.acknowledged), WRITES_BETWEEN_FAULTS)
    finally:
        stream.stop()
    assert stream.unexpected == []

    deadline = time.monotonic() + CONVERGE_SECONDS
    rows = tally(platform, postgres, small_disk, stream.acknowledged)
    while any(row.lost for row in rows) and time.monotonic() < deadline:
        time.sleep(1)
        rows = tally(platform, postgres, small_disk, stream.acknowledged)
    print(f"\n{len(stream.acknowledged)} registrations acknowledged, {stream.refused} refused")
    print(checker.table(rows))
    assert all(row.verdict == "valid" for row in rows), checker.table(rows)

    leaves = checker.Store(sqlite=platform.data_dir / "audit.db").rows(
        "SELECT COUNT(*) FROM ledger_leaves"
    )[0][0]
    wait_for(lambda: signed_size(platform) >= int(str(leaves)), "a head covering every leaf")
    after = platform.ansinh("verify", "--data-dir", str(platform.data_dir))
    assert after.returncode == 0, after.stdout + after.stderr
    assert "is a prefix of tree size" in after.stdout, after.stdout
    print(after.stdout)

    status = platform.ansinh("status", "--data-dir", str(platform.data_dir))
    for name in (*SERVICES, "broker"):
        line = next(row for row in status.stdout.splitlines() if row.startswith(f"{name} "))
        assert re.search(r"\b[1-9]\d* restart\(s\)", line) and "killed by SIGKILL" in line, line
    if small_disk is None:
        pytest.skip("ran every fault but the full disk: mounting a tmpfs is not permitted here")
