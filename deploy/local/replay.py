"""What ``ansinh replay`` does: ask running services to publish their outbox again.

Each chosen service gets ``POST /admin/outbox/replay`` (admin token, optional ``since``);
its relay then republishes the queued events in outbox order. The backlog each service
reports in ``/metrics`` (as ``ansinh status`` shows it) is followed until it drains.
Consumers' inboxes skip events they already applied, so nothing is applied twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deploy.local.status import outbox_backlog
from shared.auth import Role, mint_token
from shared.events import SERVICES

REPLAY_PATH = "/admin/outbox/replay"
POLL_SECONDS = 0.3


class PlatformNotRunning(Exception):
    """A chosen service does not answer at all; the message names which and where."""


@dataclass
class ServiceReplay:
    """One service's replay: what it queued and how much of it is still waiting."""

    name: str
    port: int
    queued: int = 0
    backlog: int = 0
    remaining: int | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def drained(self) -> bool:
        return self.error is None and self.remaining == 0


def admin_token(secret: str) -> str:
    """A short-lived admin token for the replay requests."""
    return mint_token(
        secret,
        subject="local-replay",
        role=Role.ADMIN,
        services=SERVICES,
        communes=["*"],
        ttl=timedelta(hours=1),
    )


def check_running(client: httpx.Client, ports: Mapping[str, int]) -> None:
    """Raise PlatformNotRunning unless every service answers ``/healthz``."""
    down = []
    for name, port in ports.items():
        try:
            client.get(f"http://127.0.0.1:{port}/healthz").raise_for_status()
        except httpx.HTTPError:
            down.append(f"{name} (http://127.0.0.1:{port})")
    if down:
        raise PlatformNotRunning(f"no answer from {', '.join(down)}")


def request_replays(
    client: httpx.Client, ports: Mapping[str, int], token: str, since: datetime | None
) -> list[ServiceReplay]:
    """Ask each service to queue its outbox again; errors are kept per service."""
    params = {"since": since.isoformat()} if since is not None else {}
    replays = []
    for name, port in ports.items():
        replay = ServiceReplay(name, port)
        try:
            response = client.post(
                f"{replay.url}{REPLAY_PATH}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            replay.error = f"request failed: {exc}"
        else:
            if response.status_code == 202:
                body = response.json()
                replay.queued, replay.backlog = int(body["events"]), int(body["backlog"])
                replay.remaining = replay.backlog
            else:
                replay.error = f"answered {response.status_code}: {_problem_detail(response)}"
        replays.append(replay)
    return replays


def follow_backlogs(
    client: httpx.Client, replays: Sequence[ServiceReplay], console: Console, timeout: float
) -> None:
    """Show a progress bar per service until its outbox backlog drains (or ``timeout``)."""
    started = time.monotonic()
    following = [r for r in replays if r.error is None]
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks = {r.name: progress.add_task(r.name, total=max(r.backlog, 1)) for r in following}
        pending = list(following)
        while pending:
            for replay in list(pending):
                # Only /metrics: /readyz would also probe the database and the broker.
                backlog = outbox_backlog(client, replay.port, replay.name)
                if backlog is None:
                    continue  # not answering right now; the timeout decides
                replay.remaining = backlog
                total = max(replay.backlog, 1)
                progress.update(tasks[replay.name], completed=total - min(replay.remaining, total))
                if replay.remaining == 0:
                    replay.seconds = time.monotonic() - started
                    progress.update(tasks[replay.name], completed=total)
                    pending.remove(replay)
            if pending and time.monotonic() - started > timeout:
                for replay in pending:
                    replay.seconds = time.monotonic() - started
                break
            if pending:
                time.sleep(POLL_SECONDS)


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body.get("title") or body)
