"""What ``ansinh status`` reports about each service: readiness, outbox backlog, consumer lag,
and what the launcher's supervisor restarted (how often, the last exit's cause)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.launcher import available_services, read_state, service_port
from deploy.local.supervisor import SUPERVISION_KEY


@dataclass(frozen=True)
class ServiceStatus:
    """One service as seen over HTTP; backlog and lag are None when not reported (or down)."""

    name: str
    url: str
    state: str  # "ready", "not ready: <failed checks>" or "down"
    outbox_backlog: int | None = None
    consumer_lag: int | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def platform_ports(data_dir: Path) -> dict[str, int]:
    """The ports of the platform running on ``data_dir``, else the configured ones."""
    state = read_state(data_dir)
    ports = state.get("services") if state else None
    if isinstance(ports, dict):
        return {str(name): int(port) for name, port in ports.items()}
    return {name: service_port(name) for name in available_services()}


def supervision_lines(data_dir: Path) -> list[str]:
    """One line per supervised process of the running launcher (restarts, last exit cause)."""
    state = read_state(data_dir)
    records = state.get(SUPERVISION_KEY) if state else None
    if not isinstance(records, dict):
        return []
    return [f"{name:<12} {exit_summary(record)}" for name, record in records.items()]


def probe(client: httpx.Client, name: str, port: int) -> ServiceStatus:
    """Ask ``name`` on 127.0.0.1:``port`` for ``/readyz`` and ``/metrics``."""
    url = f"http://127.0.0.1:{port}"
    try:
        readiness = client.get(f"{url}/readyz")
        metrics = client.get(f"{url}/metrics")
    except httpx.HTTPError:
        return ServiceStatus(name, url, "down")
    state = "ready" if readiness.status_code == 200 else _not_ready(readiness)
    backlog, lag = _backlog_and_lag(metrics.text, name) if metrics.is_success else (None, None)
    return ServiceStatus(name, url, state, backlog, lag)


def outbox_backlog(client: httpx.Client, port: int, name: str) -> int | None:
    """The outbox backlog ``name`` reports on its ``/metrics`` (None: not answering)."""
    try:
        metrics = client.get(f"http://127.0.0.1:{port}/metrics")
    except httpx.HTTPError:
        return None
    return _backlog_and_lag(metrics.text, name)[0] if metrics.is_success else None


def _not_ready(response: httpx.Response) -> str:
    try:
        checks = response.json().get("checks") or {}
    except ValueError:
        checks = {}
    failed = [check for check, ok in checks.items() if not ok]
    return f"not ready: {', '.join(failed)}" if failed else "not ready"


def _backlog_and_lag(exposition: str, service: str) -> tuple[int | None, int | None]:
    """Outbox backlog and total consumer lag (all groups and partitions) of ``service``."""
    backlog: int | None = None
    lag: int | None = None
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.labels.get("service") != service:
                continue
            if sample.name == "ansinh_outbox_backlog":
                backlog = (backlog or 0) + int(sample.value)
            elif sample.name == "ansinh_consumer_lag":
                lag = (lag or 0) + int(sample.value)
    return backlog, lag


def exit_summary(record: object) -> str:
    """One line about a process's supervision record from the state file."""
    if not isinstance(record, dict):
        return ""
    restarts = record.get("restarts", 0)
    last = record.get("last_exit")
    text = f"{record.get('state', '?')}, {restarts} restart(s)"
    if isinstance(last, dict):
        cause = f"killed by {last['signal']}" if last.get("signal") else f"exit code {last['code']}"
        text += f", last exit: {cause} at {last.get('at')}"
    return text
