"""Stage 5, memory: the peak resident set (VmHWM) of each service process during stage 1.

Read from ``/proc/<pid>/status`` just before the services stop, beside the resident set
right after each became ready. Baseline: the peak of the bare FastAPI process
(``bench.bare_app``, same uvicorn command line) after it answered a few hundred requests:
what Python, uvicorn and FastAPI take before any of the platform is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bench import bare_app
from bench.common import Row, memory_of
from shared.localbroker import free_port

TARGET_MB = 250


def bare_peak(workdir: Path, requests: int = 500) -> dict[str, float | None]:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    process = bare_app.serve("bench.bare_app:create", port, workdir / "bare-memory.log")
    try:
        url = f"http://127.0.0.1:{port}/bare"
        bare_app.wait_ready(process, url)
        with httpx.Client(timeout=10) as client:
            for _ in range(requests):
                client.get(url)
        return memory_of(process.pid)
    finally:
        bare_app.stop(process)


def results(bulk: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Per database, each service's memory during stage 1, and the bare baseline."""
    return {
        "bare_fastapi": bare_peak(workdir),
        "services": {db: figures["memory"] for db, figures in bulk.items()},
    }


def rows(memory: dict[str, Any]) -> list[Row]:
    out = []
    bare = memory["bare_fastapi"]["peak_rss_mb"]
    for database, services in memory["services"].items():
        for service, figures in services.items():
            peak = figures["peak_rss_mb"]
            out.append(
                Row(
                    "5 memory",
                    f"peak RSS of {service} during 1",
                    database,
                    peak,
                    "MB",
                    bare,
                    "bare FastAPI process",
                    f"< {TARGET_MB} MB",
                    peak is not None and peak < TARGET_MB,
                )
            )
    return out
