"""Sampling a service process with py-spy while a stage runs, and reading the hotspots.

``--profile bulk:audit`` attaches ``py-spy record`` to the audit process for the measured
part of stage 1 (``api:audit``: during stage 3's load on the platform) and writes the
collapsed stacks to ``bench/results/profile-<stage>-<service>-<database>.txt`` (open it
with speedscope or flamegraph.pl). The summary in the results lists the functions with
the most samples on top of the stack (self) and the project functions with the most
samples anywhere in the stack (inclusive).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:]*)(?::(?P<line>\d+))?\)$")
#: Leaf frames that wait: an aiosqlite worker waiting for a statement, an idle event loop,
#: a thread parked on a condition. (function, file name, line) or (function, "", "").
IDLE = {
    ("_connection_worker_thread", "core.py", "59"),
    ("EpollSelector.select", "", ""),
    ("Condition.wait", "", ""),
    ("Event.wait", "", ""),
}
PROJECT = ("services/", "shared/", "deploy/", "bench/")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """``py-spy record --pid`` in raw (collapsed stacks) format until :meth:`stop`."""

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        self.pid = pid
        self.output = output
        self.rate = rate
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                str(self.rate),
                "--format",
                "raw",
                "--output",
                str(self.output),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> dict[str, Any]:
        """Stop sampling (py-spy writes its file on SIGINT); the hotspots summary."""
        if self.process is None:
            return {}
        self.process.send_signal(signal.SIGINT)
        try:
            _, errors = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, errors = self.process.communicate()
        if not self.output.exists():
            return {"error": errors.decode(errors="replace")[-2000:]}
        return {"file": str(self.output), **hotspots(self.output)}


def start_if_asked(
    spec: str | None, stage: str, pids: dict[str, int], database: str
) -> Profiler | None:
    """A running profiler when ``spec`` (``--profile stage:service``) names this stage."""
    if not spec or ":" not in spec:
        return None
    wanted_stage, service = spec.split(":", 1)
    if wanted_stage != stage or service not in pids:
        return None
    profiler = Profiler(pids[service], RESULTS / f"profile-{stage}-{service}-{database}.txt")
    profiler.start()
    return profiler


def _frame(text: str) -> tuple[str, str, str]:
    match = FRAME.match(text)
    if match is None:
        return text, "", ""
    return match["function"], match["file"], match["line"] or ""


def _ours(file: str) -> bool:
    """A file of this project (py-spy names files relative to sys.path entries)."""
    return file.startswith(PROJECT) or any(f"/{p}" in file for p in PROJECT)


def _short(function: str, file: str, line: str = "") -> str:
    where = file.rsplit("/site-packages/", 1)[-1] + (f":{line}" if line else "")
    return f"{function} ({where})"


def _idle(function: str, file: str, line: str) -> bool:
    """Waiting, not working: py-spy cannot always tell with --nonblocking."""
    return (function, file.rsplit("/", 1)[-1], line) in IDLE or (function, "", "") in IDLE


def hotspots(path: Path, top: int = 15) -> dict[str, Any]:
    """Top frames by own samples (with the line), and project functions by inclusive
    samples; shares are of the busy samples (waiting frames left out)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = busy = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        code = [f for f in (_frame(f) for f in stack.split(";")) if f[1]]
        if not code or _idle(*code[-1]):
            continue
        busy += count
        own[_short(*code[-1])] += count
        for name in {_short(f[0], f[1]) for f in code if _ours(f[1])}:
            inclusive[name] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": name, "samples": n, "share": round(n / max(1, busy), 3)}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": samples,
        "busy_samples": busy,
        "self": share(own),
        "inclusive_project": share(inclusive),
    }
