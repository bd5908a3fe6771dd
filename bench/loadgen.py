"""Load generators that run in a process of their own, so they do not share the event loop
(or the GIL) of what they measure.

    python -m bench.loadgen rate   plan.json out.json   # open loop: requests at a fixed rate
    python -m bench.loadgen closed plan.json out.json   # closed loop: N connections, D seconds

A plan is JSON: ``base_url``, ``headers``, and for ``rate`` ``per_second``, ``seconds`` and
``requests`` (``[method, path, body]``, cycled); for ``closed`` ``path``, ``connections``
and ``seconds``. :func:`closed_loop` runs ``wrk`` instead when it is installed (C, one
thread per core, far less CPU per request than any Python client), unless told otherwise.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import percentiles

ROOT = Path(__file__).resolve().parent.parent
LATENCY_LINE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$")
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


async def _rate(plan: dict[str, Any]) -> dict[str, Any]:
    """Send the plan's requests at ``per_second`` for ``seconds``, whatever the replies.

    At most ``in_flight`` requests are outstanding: when the server falls that far behind,
    sending waits (``max_behind_s`` says how late the latest request left) instead of
    piling up requests the client itself would then spend its CPU juggling.
    """
    per_second, seconds = plan["per_second"], plan["seconds"]
    count, in_flight = int(per_second * seconds), plan.get("in_flight", 64)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    replies: list[Any] = []
    slots = asyncio.Semaphore(in_flight)
    behind = 0.0
    limits = httpx.Limits(max_connections=in_flight, keepalive_expiry=2.0)
    async with httpx.AsyncClient(
        base_url=plan["base_url"], headers=plan["headers"], timeout=60, limits=limits
    ) as client:

        async def one(method: str, path: str, body: Any) -> None:
            sent = time.monotonic()
            try:
                response = await client.request(method, path, json=body)
                status = str(response.status_code)
                if response.status_code < 300:
                    replies.append(response.json())
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            finally:
                slots.release()
            latencies.append(time.monotonic() - sent)
            statuses[status] = statuses.get(status, 0) + 1

        tasks = []
        started = time.monotonic()
        requests = itertools.cycle(plan["requests"])
        for i, (method, path, body) in zip(range(count), requests, strict=False):
            due = started + i / per_second
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            await slots.acquire()
            behind = max(behind, time.monotonic() - due)
            tasks.append(asyncio.create_task(one(method, path, body)))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    return {
        "sent": count,
        "in_flight": in_flight,
        "seconds": round(elapsed, 3),
        "achieved_per_s": round(count / elapsed, 1) if elapsed else None,
        "max_behind_s": round(behind, 3),
        "statuses": statuses,
        "response": percentiles(latencies),
        "replies": replies,
    }


async def _closed(plan: dict[str, Any]) -> dict[str, Any]:
    """``connections`` clients each sending the next request as soon as one is answered."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + plan["seconds"]
    limits = httpx.Limits(max_connections=plan["connections"], keepalive_expiry=2.0)
    async with httpx.AsyncClient(
        base_url=plan["base_url"], headers=plan["headers"], timeout=30, limits=limits
    ) as client:

        async def connection() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    response = await client.get(plan["path"])
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.monotonic() - started)
                errors += not ok

        started = time.monotonic()
        await asyncio.gather(*(connection() for _ in range(plan["connections"])))
        elapsed = time.monotonic() - started
    return {
        "tool": "python-httpx",
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
    }


def wrk(plan: dict[str, Any]) -> dict[str, Any]:
    """The closed loop with wrk (2 threads, ``connections`` connections, ``--latency``)."""
    binary = shutil.which("wrk")
    assert binary is not None
    command = [
        binary,
        "-t2",
        f"-c{plan['connections']}",
        f"-d{int(plan['seconds'])}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    for name, value in plan["headers"].items():
        command += ["-H", f"{name}: {value}"]
    command.append(plan["base_url"] + plan["path"])
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found: dict[str, Any] = {"tool": "wrk"}
    for line in output.splitlines():
        if match := LATENCY_LINE.match(line):
            found[f"p{match[1]}_ms"] = round(float(match[2]) * UNITS[match[3]] * 1000, 2)
        elif line.startswith("Requests/sec:"):
            found["requests_per_s"] = float(line.split()[1])
        elif "requests in" in line:
            found["requests"] = int(line.split()[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            found["errors"] = int(line.split(":")[1])
        elif line.strip().startswith("Socket errors:"):
            found["socket_errors"] = line.split(":", 1)[1].strip()
    found.setdefault("errors", 0)
    found["output"] = output
    return found


def closed_loop(plan: dict[str, Any], tool: str = "auto") -> dict[str, Any]:
    """Run the closed loop in a separate process: wrk, or this module under Python."""
    if tool == "wrk" or (tool == "auto" and shutil.which("wrk")):
        return wrk(plan)
    return run_python("closed", plan)


def run_python(mode: str, plan: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """``python -m bench.loadgen <mode>`` in a subprocess; its result."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ansinh-loadgen-") as tmp:
        plan_path, out_path = Path(tmp) / "plan.json", Path(tmp) / "out.json"
        plan_path.write_text(json.dumps(plan))
        subprocess.run(
            [sys.executable, "-m", "bench.loadgen", mode, str(plan_path), str(out_path)],
            check=True,
            timeout=timeout,
            cwd=ROOT,
        )
        result: dict[str, Any] = json.loads(out_path.read_text())
        return result


def start_python(mode: str, plan_path: Path, out_path: Path) -> subprocess.Popen[bytes]:
    """Start ``python -m bench.loadgen`` without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen", mode, str(plan_path), str(out_path)], cwd=ROOT
    )


def main(argv: list[str]) -> int:
    mode, plan_path, out_path = argv
    plan = json.loads(Path(plan_path).read_text())
    work = _rate if mode == "rate" else _closed
    result = asyncio.run(work(plan))
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
