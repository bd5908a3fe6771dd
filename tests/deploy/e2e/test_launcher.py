"""`ansinh up` as a user runs it: a real broker, real service processes, Ctrl-C to stop."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.localbroker import free_port
from tests import factories
from tests.support import bearer
from tests.support import token as local_token

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
    ports: dict[str, int] = field(default_factory=dict)

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


@contextlib.contextmanager
def launch(tmp_path: Path, services: tuple[str, ...], *options: str) -> Iterator[Launched]:
    """`ansinh up` of ``services`` (plus ``options``) on a fresh data dir and free ports;
    stopped (or killed) after."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    broker_port = free_port()
    ports = {name: free_port() for name in services}
    data_dir = tmp_path / "data"
    env.update(
        ANSINH_BROKER_PORT=str(broker_port),
        ANSINH_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    env.update({f"ANSINH_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    output = tmp_path / "ansinh-up.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                *ansinh_command(),
                "up",
                "--data-dir",
                str(data_dir),
                "--services",
                ",".join(services),
                "--ready-timeout",
                "100",
                *options,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    launched = Launched(process, output, data_dir, env, broker_port, ports["households"], ports)
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
        port_args = [str(broker_port), *map(str, ports.values())]
        for pid in children:  # never leave a broker or service behind a failed test
            if any(port in command_line(pid) for port in port_args):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Launched]:
    """`ansinh up` of households alone."""
    with launch(tmp_path, ("households",)) as running:
        yield running


@pytest.fixture
def launched_with_audit(tmp_path: Path) -> Iterator[Launched]:
    """`ansinh up` of households and the audit service, which keeps their events' ledger."""
    with launch(tmp_path, ("households", "audit")) as running:
        yield running


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


def _wait_for(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:g} s: {what}")
        time.sleep(0.5)


def test_replay_and_verify_against_the_running_platform(
    launched_with_audit: Launched, tmp_path: Path
) -> None:
    platform = launched_with_audit
    data_dir = platform.data_dir
    audit = f"http://127.0.0.1:{platform.ports['audit']}"
    admin, inspector = bearer(local_token(data_dir)), bearer(local_token(data_dir, "inspector"))

    def register() -> str:
        response = httpx.post(
            f"{platform.households_url}/households", json=factories.household(), headers=admin
        )
        assert response.status_code == 201, response.text
        return str(response.json()["household_id"])

    def trail(subject: str) -> int:
        response = httpx.get(f"{audit}/trail/{subject}", headers=inspector, timeout=10)
        return len(response.json()["items"]) if response.status_code == 200 else 0

    def signed_size() -> int:
        response = httpx.get(f"{audit}/ledger/tree-heads/latest", headers=inspector, timeout=10)
        return int(response.json()["tree_size"]) if response.status_code == 200 else 0

    def repeats_skipped() -> float:
        """Events the audit's consumers recognised as already applied (its /metrics)."""
        exposition = httpx.get(f"{audit}/metrics", timeout=10).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
            if sample.name == "ansinh_events_consumed_total"
            and sample.labels.get("outcome") == "duplicate"
        )

    household = register()
    _wait_for(lambda: trail(household) >= 2, "the audit ledger records the registration")
    recorded = trail(household)
    skipped = repeats_skipped()

    # Replay: every outbox is published again; the audit's inbox skips what it has.
    replayed = platform.ansinh("replay", "--data-dir", str(data_dir))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    table = [line for line in replayed.stdout.splitlines() if "│" in line]
    rows = {line.split("│")[1].strip(): line for line in table}
    assert "published" in rows["households"] and "published" in rows["audit"]
    queued = re.search(r"│\s+([1-9]\d*)\s+│\s+0\s+│", rows["households"])
    assert queued, rows["households"]
    assert "published again" in replayed.stdout
    _wait_for(
        lambda: repeats_skipped() >= skipped + int(queued.group(1)),
        "the audit's inboxes skip every republished households event",
    )
    assert trail(household) == recorded

    # Verify, first run: the signed head holds; its key and head are trusted on first use.
    # (Heads are signed on an interval: wait for the first one covering the household.)
    _wait_for(lambda: signed_size() > 0, "a first signed tree head")
    first = platform.ansinh("verify", "--data-dir", str(data_dir), "--subject", household)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "trust on first use" in first.stdout
    assert f"{recorded} event(s) of subject {household}" in first.stdout
    assert "OK" in first.stdout
    kept = data_dir / "verified-tree-head.json"
    first_size = json.loads(kept.read_text())["tree_head"]["tree_size"]

    # Second run, after the ledger grew: a consistency proof from the kept head.
    other = register()
    _wait_for(lambda: trail(other) >= 2, "the audit ledger records the second registration")
    _wait_for(lambda: signed_size() > first_size, "a tree head covering the second household")
    second = platform.ansinh("verify", "--data-dir", str(data_dir))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "trust on first use" not in second.stdout
    assert f"tree size {first_size} verified before is a prefix of tree size" in second.stdout
    assert json.loads(kept.read_text())["tree_head"]["tree_size"] > first_size

    # Tamper: a kept head with another root for the same size must not pass.
    state = json.loads(kept.read_text())
    state["tree_head"]["root_hash"] = "ab" * 32
    kept.write_text(json.dumps(state))
    tampered = platform.ansinh("verify", "--data-dir", str(data_dir))
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "FAILED" in tampered.stderr
    assert "consistency from tree size" in tampered.stderr
    assert "signature does not verify" in tampered.stderr
    assert json.loads(kept.read_text()) == state  # left as it was

    # No platform: exit 2 with a clear message.
    elsewhere = str(tmp_path / "no-platform")
    down_ports = {"ANSINH_HOUSEHOLDS_PORT": str(free_port()), "ANSINH_AUDIT_PORT": str(free_port())}
    for command in ("replay", "verify"):
        down = platform.ansinh(command, "--data-dir", elsewhere, **down_ports)
        assert down.returncode == 2, (command, down.stdout, down.stderr)
        assert "not running" in down.stderr and "ansinh up" in down.stderr
