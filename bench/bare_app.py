"""The baseline web app: one FastAPI endpoint and nothing else, served like the services.

``GET /bare`` returns the JSON document in the file ``ANSINH_BENCH_BARE_BODY`` (read once
at start), serialised by FastAPI on every request as any endpoint's return value is: no
middleware, no authentication, no database. :func:`serve` starts it (or a service) with
the same uvicorn command line the local launcher uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI


def create() -> FastAPI:
    """The bare app (uvicorn ``--factory bench.bare_app:create``)."""
    body_file = os.environ.get("ANSINH_BENCH_BARE_BODY")
    document: Any = json.loads(Path(body_file).read_text()) if body_file else {"status": "ok"}
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> Any:
        return document

    return app


def serve(
    factory: str, port: int, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``python -m uvicorn --factory <factory>`` with the launcher's settings."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "10",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 120.0) -> None:
    """Return once ``url`` answers 200; RuntimeError if the process exits first."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {process.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
