"""The local launcher: the embedded broker and one process per available service, in the foreground.

``Platform(data_dir).run()`` starts Tansu (unless ``KAFKA_BOOTSTRAP_SERVERS`` names a broker),
creates the topics and the shared secrets, starts every service with uvicorn, waits until each
answers ``/readyz``, prints the URLs and ready-made tokens, and runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, NoReturn, Protocol

import httpx
from rich.console import Console
from rich.table import Table

import services
from deploy.local.supervisor import Supervisor
from shared.auth import Role, load_or_create_local_secret, mint_token
from shared.config import SERVICE_PORTS
from shared.events import SERVICES
from shared.kafka import ensure_topics, wait_for_broker
from shared.localbroker import EmbeddedBroker

JWT_KEY_FILE = "jwt-hs256.key"
PSEUDONYM_KEY_FILE = "pseudonym-hmac.key"
STATE_FILE = "platform.json"
DEFAULT_BROKER_PORT = 9092
TOKEN_TTL = timedelta(hours=8)
LOG_TAIL_LINES = 30


class LaunchError(Exception):
    """The platform could not start or a service stopped; the message says which and why."""


def available_services() -> list[str]:
    """The services that exist in this checkout (``services/<name>/app.py``), in platform order."""
    package_dir = Path(services.__file__).resolve().parent
    return [name for name in SERVICES if (package_dir / name / "app.py").is_file()]


def service_port(name: str) -> int:
    """The port of ``name``: ``ANSINH_<SERVICE>_PORT`` or its fixed embedded port."""
    configured = os.environ.get(f"ANSINH_{name.upper()}_PORT")
    return int(configured) if configured else SERVICE_PORTS[name]


def broker_port() -> int:
    """The embedded broker's port: ``ANSINH_BROKER_PORT`` or 9092."""
    return int(os.environ.get("ANSINH_BROKER_PORT") or DEFAULT_BROKER_PORT)


def jwt_secret(data_dir: Path, *, create: bool) -> str | None:
    """The HS256 secret services verify tokens with (``ANSINH_JWT_SECRET`` or the local file).

    None when ``create`` is false and the local secret was never generated.
    """
    configured = os.environ.get("ANSINH_JWT_SECRET")
    if configured:
        return configured
    path = data_dir / "secrets" / JWT_KEY_FILE
    if not create and not path.exists():
        return None
    return load_or_create_local_secret(path)


def read_state(data_dir: Path) -> dict[str, object] | None:
    """What a launcher running on ``data_dir`` wrote about itself, or None if none runs."""
    path = data_dir / STATE_FILE
    try:
        state: dict[str, object] = json.loads(path.read_text())
        pid = state["pid"]
        if not isinstance(pid, int):
            return None
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError):
        return None
    return state


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port`` (TIME_WAIT leftovers do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def log_tail(path: Path, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines written to ``path`` after byte ``offset``."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ServiceProcess:
    """One service running under uvicorn in its own session, logging to its own file."""

    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    log_file: IO[bytes]
    log_offset: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def exit_code(self) -> int | None:
        return self.process.poll()

    def signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def wait_until(self, deadline: float) -> None:
        """Wait for the exit until ``deadline`` (monotonic), then kill the process group."""
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait()
        self.log_file.close()

    def failure(self, what: str) -> str:
        tail = log_tail(self.log_path, self.log_offset)
        return f"{self.name} {what}; last lines of {self.log_path}:\n{tail or '(empty)'}"


class Seeding(Protocol):
    """What ``Platform.run`` plays once every service is ready (``ansinh up`` without --no-seed).

    The launcher knows no scenario: the scenario package, which drives the running platform
    and so imports this module, hands one in.
    """

    #: The day the audit service judges the seeded data as of, or None for today.
    @property
    def audit_date(self) -> date | None: ...

    def play(self, platform: Platform) -> None:
        """Seed the ready ``platform``; report a failure on its console and return."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Platform:
    """The embedded platform on ``data_dir``: broker, topics, secrets and service processes."""

    def __init__(
        self,
        data_dir: Path,
        services: Sequence[str] | None = None,
        *,
        console: Console | None = None,
        ready_timeout: float = 120.0,
        stop_timeout: float = 20.0,
        seed: Seeding | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.seed = seed
        self.logs_dir = self.data_dir / "logs"
        self.services = list(services) if services is not None else available_services()
        self.console = console or Console()
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        self.broker = (
            None if external else EmbeddedBroker(broker_port(), self.logs_dir / "broker.log")
        )
        self.bootstrap = external or f"127.0.0.1:{broker_port()}"
        self.running: list[ServiceProcess] = []

    def run(self) -> int:
        """Start, serve until Ctrl-C/SIGTERM, stop; 0 after a requested stop, 1 after a failure."""
        # Explicitly, because a shell starts background jobs with SIGINT ignored.
        previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            self.announce()
            if self.seed is not None:
                self.seed.play(self)
            self.supervise()
        except KeyboardInterrupt:
            self.console.print("\n[bold]Stopping…[/bold]")
            return self.stop(0)
        except LaunchError as error:
            self.console.print("[bold red]✗[/bold red] ", end="")
            # Unwrapped and without markup: it may quote a log, which may hold "[...]".
            self.console.print(str(error), markup=False, highlight=False, soft_wrap=True)
            return self.stop(1)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def start(self) -> None:
        """Everything up to every service answering ``/readyz``; LaunchError if something fails."""
        self._check_preconditions()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        # Created here, before any service starts, so all of them share one secret each.
        jwt_secret(self.data_dir, create=True)
        load_or_create_local_secret(self.data_dir / "secrets" / PSEUDONYM_KEY_FILE)
        self._start_broker()
        self._write_state()
        for name in self.services:
            self.running.append(self._start_service(name))
        self._wait_until_ready()

    def supervise(self) -> NoReturn:
        """Watch the processes, restarting what exits (deploy/local/supervisor.py); Ctrl-C ends."""
        Supervisor(self).run()

    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    def restart_service(self, name: str) -> None:
        """Start ``name`` again in place of its exited process (the supervisor's hook)."""
        index = next(i for i, s in enumerate(self.running) if s.name == name)
        self.running[index].log_file.close()
        self.running[index] = self._start_service(name)

    def restart_broker(self) -> None:
        """Start the embedded broker again on its port and create the topics (empty again)."""
        assert self.broker is not None
        self.broker.stop()  # reaps the exited process
        self._start_broker()

    def stop(self, exit_code: int) -> int:
        """SIGTERM every service, SIGKILL the ones still up after the timeout, stop the broker."""
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for service in self.running:
                service.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            for service in self.running:
                service.wait_until(deadline)
            self.running.clear()
            if self.broker:
                self.broker.stop()
            state = read_state(self.data_dir)
            if state is not None and state["pid"] == os.getpid():  # not another launcher's
                (self.data_dir / STATE_FILE).unlink()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.console.print("Stopped." if exit_code == 0 else "Stopped after a failure.")
        return exit_code

    def announce(self) -> None:
        """Print where everything is and a ready-made admin and inspector token."""
        table = Table(title="An Sinh is running", title_justify="left")
        for column in ("service", "URL", "API docs"):
            table.add_column(column, no_wrap=True)
        for service in self.running:
            table.add_row(service.name, service.url, f"{service.url}/docs")
        self.console.print(table)
        embedded = "embedded Tansu, memory storage" if self.broker else "external"
        self.console.print(f"broker      {self.bootstrap} ({embedded})", highlight=False)
        if "audit" in self.services:
            audit = next(s for s in self.running if s.name == "audit")
            self.console.print(f"dashboard   {audit.url}/", highlight=False)
        self.console.print(
            f"data        {self.data_dir}  (logs in {self.logs_dir})", highlight=False
        )
        secret = jwt_secret(self.data_dir, create=True)
        assert secret is not None  # created by start()
        self.console.print(
            f"\nTokens, valid {TOKEN_TTL.total_seconds() / 3600:g} h (more with `ansinh token`):"
        )
        for role in (Role.ADMIN, Role.INSPECTOR):
            token = mint_token(
                secret,
                subject=f"local-{role}",
                role=role,
                services=SERVICES,
                communes=["*"],
                ttl=TOKEN_TTL,
            )
            # soft_wrap: a wrapped token could not be copied from the terminal.
            self.console.print(
                f"  {role:<10} {token}", soft_wrap=True, highlight=False, markup=False
            )
        self.console.print("\nPress Ctrl-C to stop.")

    def _check_preconditions(self) -> None:
        if not self.services:
            raise LaunchError("no service to start: none of services/<name>/app.py exists")
        unknown = sorted(set(self.services) - set(available_services()))
        if unknown:
            raise LaunchError(
                f"not available in this checkout: {', '.join(unknown)} "
                f"(available: {', '.join(available_services())})"
            )
        state = read_state(self.data_dir)
        if state is not None:
            raise LaunchError(f"a platform (pid {state['pid']}) already runs on {self.data_dir}")
        ports = [
            (name, service_port(name), f"ANSINH_{name.upper()}_PORT") for name in self.services
        ]
        if self.broker:
            ports.insert(0, ("the broker", self.broker.port, "ANSINH_BROKER_PORT"))
        claimed: dict[int, str] = {}
        for name, port, variable in ports:
            if port in claimed:
                raise LaunchError(f"{name} and {claimed[port]} are both set to port {port}")
            claimed[port] = name
            if port_in_use(port):
                raise LaunchError(
                    f"port {port} for {name} is in use; stop what holds it or set {variable}"
                )

    def _start_broker(self) -> None:
        if self.broker:
            with self.console.status(f"Starting the embedded broker on {self.bootstrap}…"):
                try:
                    self.broker.start()
                except (RuntimeError, TimeoutError) as error:
                    tail = log_tail(self.logs_dir / "broker.log")
                    raise LaunchError(f"the broker did not start: {error}\n{tail}") from error
        try:
            asyncio.run(self._prepare_topics())
        except TimeoutError as error:
            raise LaunchError(str(error)) from error
        self.console.print(f"[green]✓[/green] broker {self.bootstrap}", highlight=False)

    async def _prepare_topics(self) -> None:
        await wait_for_broker(self.bootstrap, timeout=30)
        await ensure_topics(self.bootstrap)

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "broker": self.bootstrap,
            "embedded_broker": bool(self.broker),
            "services": {name: service_port(name) for name in self.services},
        }
        (self.data_dir / STATE_FILE).write_text(json.dumps(state, indent=2))

    def _service_env(self, name: str, port: int) -> dict[str, str]:
        env = dict(os.environ)
        prefix = f"ANSINH_{name.upper()}_"
        env.update(
            {
                "ANSINH_DATA_DIR": str(self.data_dir),
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                f"{prefix}PORT": str(port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        # Children import the same `services` package the launcher found.
        package_root = str(Path(services.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        if (
            self.seed is not None
            and self.seed.audit_date is not None
            and name == "audit"
            and "ANSINH_AUDIT_CLOCK_DATE" not in os.environ
        ):
            # Seeded data of a past year is judged as of its end, not today (when every card
            # it issued has long expired).
            env["ANSINH_AUDIT_CLOCK_DATE"] = self.seed.audit_date.isoformat()
        if self.broker:
            # Tansu forgot every event: publish each outbox again; consumers' inboxes skip repeats.
            env[f"{prefix}REPUBLISH_ON_START"] = "true"
        return env

    def _start_service(self, name: str) -> ServiceProcess:
        port = service_port(name)
        log_path = self.logs_dir / f"{name}.log"
        log_file = log_path.open("ab")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"services.{name}.app:create",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            str(max(1, int(self.stop_timeout / 2))),
        ]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self._service_env(name, port),
            start_new_session=True,
        )
        return ServiceProcess(name, port, log_path, process, log_file, log_offset=log_file.tell())

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        pending = list(self.running)
        with (
            httpx.Client(timeout=2.0) as client,
            self.console.status("Waiting for the services to be ready…") as status,
        ):
            while pending:
                for service in list(pending):
                    code = service.exit_code()
                    if code is not None:
                        raise LaunchError(
                            service.failure(f"exited with code {code} while starting")
                        )
                    if _ready(client, service.url):
                        pending.remove(service)
                        self.console.print(
                            f"[green]✓[/green] {service.name} {service.url}", highlight=False
                        )
                if pending and time.monotonic() > deadline:
                    raise LaunchError(
                        pending[0].failure(f"was not ready within {self.ready_timeout:g} s")
                    )
                status.update(f"Waiting for {', '.join(s.name for s in pending)}…")
                if pending:
                    time.sleep(0.3)


def _ready(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(f"{url}/readyz").status_code == 200
    except httpx.HTTPError:
        return False
