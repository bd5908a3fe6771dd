"""`ansinh up` as a user runs it: a real broker, real service processes, Ctrl-C to stop."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.localbroker import free_port
from tests.support import bearer

pytestmark = pytest.mark.e2e

STARTUP_SECONDS = 120
STOP_SECONDS = 60
TOKEN_LINE = re.compile(r"^\s*(admin|inspector)\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)\s*$", re.MULTILINE)


def ansinh_command() -> list[str]:
    """The venv's console script, or the module when the script is not installed."""
    script = Path(sys.executable).parent / "ansinh"
    return [str(script)] if script.exists() else [sys.executable, "-m", "deploy.local.cli"]


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    output: Path
    data_dir: Path
    env: dict[str, str]
    broker_port: int
    households_port: int

    @property
    def households_url(self) -> str:
        return f"http://127.0.0.1:{self.households_port}"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def ansinh(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run another `ansinh` command in the platform's environment (plus ``env``)."""
        return subprocess.run(
            [*ansinh_command(), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def children_of(pid: int) -> set[int]:
    """Processes whose parent is ``pid``, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def command_line(pid: int) -> str:
    """The command line of ``pid``; empty once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until_running(launched: Launched) -> None:
    """Poll until the launcher printed its tokens and households answers /readyz."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if launched.process.poll() is not None:
            code = launched.process.returncode
            pytest.fail(f"`ansinh up` exited with {code}:\n{launched.text()}")
        if "Press Ctrl-C to stop." in launched.text():
            try:
                if httpx.get(f"{launched.households_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    pytest.fail(f"the platform was not ready within {STARTUP_SECONDS}s:\n{launched.text()}")


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Launched]:
    """`ansinh up` running on a fresh data dir and free ports; stopped (or killed) afterwards."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    broker_port, households_port = free_port(), free_port()
    data_dir = tmp_path / "data"
    env.update(
        ANSINH_BROKER_PORT=str(broker_port),
        ANSINH_HOUSEHOLDS_PORT=str(households_port),
        ANSINH_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    output = tmp_path / "ansinh-up.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                *ansinh_command(),
                "up",
                "--data-dir",
                str(data_dir),
                "--services",
                "households",
                "--ready-timeout",
                "100",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    launched = Launched(process, output, data_dir, env, broker_port, households_port)
    children: set[int] = set()
    try:
        wait_until_running(launched)
        children = children_of(process.pid)
        yield launched
    finally:
        children |= children_of(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        ports = (str(broker_port), str(households_port))
        for pid in children:  # never leave a broker or service behind a failed test
            if any(port in command_line(pid) for port in ports):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


def test_up_serves_households_with_printed_token_and_ctrl_c_stops_everything(
    launched: Launched,
) -> None:
    output = launched.text()
    assert f"{launched.households_url}/docs" in output
    tokens = dict(TOKEN_LINE.findall(output))
    assert set(tokens) == {"admin", "inspector"}
    for token in tokens.values():
        response = httpx.get(f"{launched.households_url}/households", headers=bearer(token))
        assert response.status_code == 200, response.text
    assert httpx.get(f"{launched.households_url}/households").status_code == 401

    children = children_of(launched.process.pid)
    assert len(children) >= 2  # the broker and the households service
    launched.process.send_signal(signal.SIGINT)

    assert launched.process.wait(timeout=STOP_SECONDS) == 0
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []
    assert not accepts_connections(launched.households_port)
    assert not accepts_connections(launched.broker_port)
    assert "Stopped." in launched.text()


def test_token_and_status_against_the_running_platform(launched: Launched, tmp_path: Path) -> None:
    data_dir = str(launched.data_dir)
    minted = launched.ansinh(
        "token",
        "--role",
        "operator",
        "--service",
        "households",
        "--commune",
        "30280",
        "--data-dir",
        data_dir,
    )
    assert minted.returncode == 0, minted.stderr
    response = httpx.get(
        f"{launched.households_url}/households", headers=bearer(minted.stdout.strip())
    )
    assert response.status_code == 200, response.text

    status = launched.ansinh("status", "--data-dir", data_dir)
    assert status.returncode == 0, status.stdout + status.stderr
    row = next(line for line in status.stdout.splitlines() if "households" in line)
    assert launched.households_url in row
    assert "ready" in row
    assert re.search(r"│\s+\d+\s+│", row), row  # the outbox backlog, read from /metrics

    elsewhere = str(tmp_path / "no-platform")
    down = launched.ansinh(
        "status", "--data-dir", elsewhere, ANSINH_HOUSEHOLDS_PORT=str(free_port())
    )
    assert down.returncode == 1
    assert "down" in next(line for line in down.stdout.splitlines() if "households" in line)
    unsigned = launched.ansinh("token", "--role", "admin", "--data-dir", elsewhere)
    assert unsigned.returncode != 0
    assert "make run" in unsigned.stderr
