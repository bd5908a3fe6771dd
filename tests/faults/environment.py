"""What the fault tests break: a private PostgreSQL server, a small disk, processes by name.

Nothing here touches the machine's shared PostgreSQL cluster (other tests use it): the
server restarted mid-batch is a private one, ``initdb``/``pg_ctl`` in a temp dir on a free
port, owned by the ``postgres`` user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shared.localbroker import free_port
from tests.deploy.e2e.test_launcher import children_of, command_line

DATABASE = "ansinh_faults"
USER = "ansinh"


def postgres_bin() -> Path | None:
    """The directory of the newest installed PostgreSQL server binaries, if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL server of its own, in a temp dir, on a free port of 127.0.0.1."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ansinh-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def dsn(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync")
        self._pg_ctl("start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE)

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w", "-o", options,
            *extra,
        )  # fmt: skip

    def crash_restart(self) -> None:
        """Stop the server the way a crash does (immediate: recovery on start), start it."""
        self._pg_ctl("restart", "-m", "immediate")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class SmallDisk:
    """A tmpfs of a few MiB (needs root and mount permission); ``fill()`` makes it full."""

    def __init__(self, size_mib: int = 32) -> None:
        self.size_mib = size_mib
        self.path = Path(tempfile.mkdtemp(prefix="ansinh-faults-disk-"))
        self.filler = self.path / "filler"

    def mount(self) -> bool:
        """Mount it; False when this machine does not let us (not root, no CAP_SYS_ADMIN)."""
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size_mib}m", "tmpfs", str(self.path)],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def fill(self) -> None:
        """Write until the disk has no byte left (ENOSPC)."""
        for chunk in (1 << 20, 4096, 1):  # big writes, then what the last one left
            with contextlib.suppress(OSError), self.filler.open("ab", buffering=0) as filler:
                while True:
                    filler.write(b"\0" * chunk)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)
        shutil.rmtree(self.path, ignore_errors=True)


def service_pid(launcher_pid: int, name: str) -> int | None:
    """The pid of service ``name`` the launcher runs now (uvicorn of services.<name>.app)."""
    for pid in children_of(launcher_pid):
        if f"services.{name}.app:create" in command_line(pid):
            return pid
    return None


def broker_pid(launcher_pid: int, port: int) -> int | None:
    """The pid of the embedded Tansu broker listening on ``port``."""
    for pid in children_of(launcher_pid):
        line = command_line(pid)
        if "broker" in line and f"127.0.0.1:{port}" in line and "uvicorn" not in line:
            return pid
    return None


def kill_9(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres | None]:
    """A started private server, stopped and removed afterwards; None without binaries."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        yield None
        return
    server = PrivatePostgres(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
