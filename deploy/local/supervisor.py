"""Supervision of the local platform: restart what exits, with back-off, and say so.

``Supervisor(platform).run()`` replaces "stop everything when one process exits": a service
or the embedded broker that exits is started again after an exponential back-off (0.5 s,
doubling, at most 30 s; back to 0.5 s once a process stayed up 60 s). A service that
crash-loops (``CRASH_LOOP_EXITS`` exits within ``CRASH_LOOP_WINDOW`` seconds) is given up
on, loudly, while the others keep running.

The embedded Tansu keeps events in memory only. When it exits, every service is stopped
with it (SIGKILL: a service loses nothing to it, tests/faults/ shows that), the broker is
started again, then every service: each republishes its whole outbox on start
(``REPUBLISH_ON_START``, the ``mark_all_unsent`` that ``ansinh replay`` asks for by hand)
and its consumers start from the beginning of the new, empty log; their inboxes absorb the
repeats. Services are not left running across a broker restart because their consumers'
positions and pending offset commits refer to the lost log: carried into the new one, they
skip the events published first after the restart (the fault suite lost 73 households'
events out of 813 that way before this).

Each exit and restart is one JSON line in ``<data-dir>/logs/supervisor.jsonl`` (and on the
console); restarts and last exit causes go to the state file under ``"supervision"``, where
``ansinh status`` reads them.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol

BROKER = "broker"
SUPERVISION_KEY = "supervision"  # in the state file: restarts and exit causes, per process


class Platform(Protocol):
    """What the supervisor needs of the launcher's platform (deploy/local/launcher.py).

    A protocol, not an import: the launcher starts the supervisor, so the supervisor may not
    import the launcher back (no cycles in deploy/, .importlinter).
    """

    running: list[Any]
    broker: Any
    logs_dir: Path
    console: Any

    @property
    def state_path(self) -> Path: ...

    def restart_service(self, name: str) -> None: ...

    def restart_broker(self) -> None: ...


SUPERVISOR_LOG = "supervisor.jsonl"
CRASH_LOOP_EXITS = 5
CRASH_LOOP_WINDOW = 120.0
TICK_SECONDS = 0.25


@dataclass(frozen=True)
class RestartPolicy:
    """When to start an exited process again; pure, times are monotonic seconds."""

    initial_delay: float = 0.5
    max_delay: float = 30.0
    stable_after: float = 60.0
    crash_loop_exits: int = CRASH_LOOP_EXITS
    crash_loop_window: float = CRASH_LOOP_WINDOW

    def delay(self, attempt: int) -> float:
        """The wait before restart number ``attempt`` (1-based) of an unstable process."""
        return min(self.max_delay, self.initial_delay * 2 ** max(0, attempt - 1))

    def attempt_after(self, previous_attempt: int, up_for: float) -> int:
        """The attempt number of the restart after an exit; 1 again if it ran long enough."""
        return 1 if up_for >= self.stable_after else previous_attempt + 1

    def crash_looping(self, exits: list[float], now: float) -> bool:
        """Whether the exits at ``exits`` mean give up: too many within the window."""
        recent = [t for t in exits if now - t <= self.crash_loop_window]
        return len(recent) >= self.crash_loop_exits


@dataclass(frozen=True)
class ExitCause:
    """How a process ended: its exit code, or the signal that killed it, and when (UTC)."""

    code: int | None
    signal: str | None
    at: str

    @classmethod
    def of(cls, returncode: int, at: datetime | None = None) -> ExitCause:
        when = (at or datetime.now(UTC)).isoformat(timespec="seconds")
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            return cls(None, name, when)
        return cls(returncode, None, when)

    def __str__(self) -> str:
        return f"killed by {self.signal}" if self.signal else f"exit code {self.code}"


@dataclass
class Watched:
    """One supervised process: its restart history and what happens next."""

    name: str
    started_at: float
    restarts: int = 0
    attempt: int = 0
    exits: list[float] = field(default_factory=list)
    last_exit: ExitCause | None = None
    restart_at: float | None = None  # set while waiting for the back-off
    given_up: bool = False
    halted: bool = False  # stopped while the broker restarts

    @property
    def state(self) -> str:
        if self.given_up:
            return "given up"
        if self.halted:
            return "waiting for the broker"
        return "restarting" if self.restart_at is not None else "running"

    def record(self) -> dict[str, object]:
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_exit": asdict(self.last_exit) if self.last_exit else None,
        }


class Supervisor:
    """Watches the platform's processes until Ctrl-C/SIGTERM, restarting what exits."""

    def __init__(
        self,
        platform: Platform,
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.platform = platform
        self.policy = policy or RestartPolicy()
        self.clock = clock
        now = clock()
        names = [s.name for s in platform.running] + ([BROKER] if platform.broker else [])
        self.watched = {name: Watched(name, now) for name in names}
        self.log_path = platform.logs_dir / SUPERVISOR_LOG

    def run(self) -> NoReturn:
        self._write_state()
        while True:
            self.tick()
            time.sleep(TICK_SECONDS)

    def tick(self) -> None:
        """One look at every process: note exits, restart what is due."""
        now = self.clock()
        changed = False
        for watched in self.watched.values():
            if watched.given_up or watched.halted:
                continue
            if watched.restart_at is None:
                code = self._exit_code(watched.name)
                if code is not None:
                    self._exited(watched, code, now)
                    changed = True
            elif now >= watched.restart_at:
                self._restart(watched)
                changed = True
        if changed:
            self._write_state()

    def _exit_code(self, name: str) -> int | None:
        if name == BROKER:
            broker = self.platform.broker
            process = broker.process if broker else None
            return process.poll() if process else None
        service = next(s for s in self.platform.running if s.name == name)
        return service.exit_code()

    def _exited(self, watched: Watched, code: int, now: float) -> None:
        watched.last_exit = ExitCause.of(code)
        watched.exits.append(now)
        if watched.name == BROKER:
            self._halt_services()
        if self.policy.crash_looping(watched.exits, now):
            watched.given_up = True
            self._log("gave_up", watched, exits=len(watched.exits))
            self.platform.console.print(
                f"[bold red]✗ {watched.name} exited {len(watched.exits)} times within "
                f"{self.policy.crash_loop_window:g} s ({watched.last_exit}); given up on it, "
                f"the others keep running. See {self._log_of(watched.name)}[/bold red]",
                highlight=False,
            )
            return
        watched.attempt = self.policy.attempt_after(watched.attempt, now - watched.started_at)
        delay = self.policy.delay(watched.attempt)
        watched.restart_at = now + delay
        self._log("restart_scheduled", watched, delay=delay)

    def _halt_services(self) -> None:
        """Kill every service for the broker's restart (why: the module docstring)."""
        for service in self.platform.running:
            watched = self.watched[service.name]
            if watched.given_up:
                continue
            service.signal_group(signal.SIGKILL)
            service.process.wait()
            watched.halted, watched.restart_at = True, None
            self._log("halted_for_broker", watched)

    def _restart(self, watched: Watched) -> None:
        watched.restart_at = None
        watched.restarts += 1
        try:
            if watched.name == BROKER:
                self.platform.restart_broker()
            else:
                self.platform.restart_service(watched.name)
        except Exception as error:  # a failed start counts as an exit of its own
            self._log("restart_failed", watched, error=str(error))
            self._exited(watched, 1, self.clock())
            return
        watched.started_at = self.clock()
        self._log("restarted", watched)
        if watched.name == BROKER:
            for halted in [w for w in self.watched.values() if w.halted]:
                halted.halted = False
                self._restart(halted)  # each republishes its outbox on start

    def _log(self, event: str, watched: Watched, **extra: object) -> None:
        cause = watched.last_exit
        self._log_line(
            {
                "event": event,
                "service": watched.name,
                "exit_code": cause.code if cause else None,
                "exit_signal": cause.signal if cause else None,
                "attempt": watched.attempt,
                "restarts": watched.restarts,
                **extra,
            }
        )

    def _log_line(self, entry: dict[str, object]) -> None:
        line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry})
        with self.log_path.open("a") as log:
            log.write(line + "\n")
        self.platform.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _log_of(self, name: str) -> str:
        return str(self.platform.logs_dir / f"{name}.log")

    def _write_state(self) -> None:
        record_supervision(self.platform, {name: w.record() for name, w in self.watched.items()})


def record_supervision(platform: Platform, supervision: dict[str, dict[str, object]]) -> None:
    """Put ``supervision`` into the launcher's state file, leaving its other keys as they are."""
    path = platform.state_path
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return  # stopping: the file is gone
    state[SUPERVISION_KEY] = supervision
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(state, indent=2))
    partial.replace(path)  # `ansinh status` never reads half a file
