"""Stage 3, API: a household's audit trail with proofs, with N events in the ledger.

The ledger is filled with N events (``bench.ledger_fixture``), the audit service runs as
a real process on it (uvicorn, as the launcher starts it), and a load generator in
another process (``wrk`` when installed, else ``bench.loadgen``) keeps C connections busy
for D seconds on ``GET /ledger/export?subject=<household>``: the household's events with
an inclusion proof of each against a signed tree head, and a signed manifest, as an
inspector's offline verifier takes it. Requests/s and p50/p99 latency.

Baseline: ``bench.bare_app`` — one FastAPI endpoint that returns the same JSON document
(captured from the audit service), no middleware, no token, no database — served with the
same uvicorn command line and loaded the same way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from bench import bare_app, loadgen
from bench.cluster import Cluster
from bench.common import Database, Options, Row, cpu_seconds_of, database_urls, memory_of, ratio
from bench.ledger_fixture import household_id, ledger_database
from bench.profiling import start_if_asked
from shared.auth import Role
from shared.localbroker import free_port


def _wait_for_head(cluster: Cluster, size: int, timeout: float = 300.0) -> None:
    """The service signs a head for the whole ledger at start; wait for it."""
    deadline = time.monotonic() + timeout
    with httpx.Client(
        base_url=cluster.url("audit"), headers=cluster.headers(Role.INSPECTOR), timeout=30
    ) as client:
        while time.monotonic() < deadline:
            response = client.get("/ledger/tree-heads/latest")
            if response.status_code == 200 and response.json()["tree_size"] == size:
                return
            time.sleep(0.5)
    raise TimeoutError(f"no signed tree head of size {size} within {timeout:g} s")


def _capture(url: str, path: str, headers: dict[str, str], into: Path) -> dict[str, Any]:
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for _ in range(20):  # warm up: first requests fill caches and pools
            response = client.get(path)
            response.raise_for_status()
    into.write_bytes(response.content)
    bundle = response.json()
    return {"response_bytes": len(response.content), "events": len(bundle.get("events", ()))}


def _loaded(pid: int, plan: dict[str, Any], tool: str) -> dict[str, Any]:
    """The closed loop's figures, and the server's CPU seconds and requests per CPU second
    (steadier than wall-clock rates on a machine shared with other work)."""
    before = cpu_seconds_of(pid)
    load = loadgen.closed_loop(plan, tool)
    after = cpu_seconds_of(pid)
    load.pop("output", None)
    if before is not None and after is not None and after > before:
        load["server_cpu_seconds"] = round(after - before, 2)
        load["requests_per_server_cpu_s"] = round(load.get("requests", 0) / (after - before), 1)
    return load


EXPORT = f"/ledger/export?subject={household_id(0)}"
TRAIL = f"/trail/{household_id(0)}"


async def _platform(options: Options, url: str, run_dir: Path, database: str) -> dict[str, Any]:
    async with Cluster(run_dir / "data", {"audit": url}, services=["audit"]) as cluster:
        _wait_for_head(cluster, options.ledger_events)
        base_url, headers = cluster.url("audit"), cluster.headers(Role.INSPECTOR)
        plan = {
            "base_url": base_url,
            "headers": headers,
            "connections": options.api_connections,
            "seconds": options.api_seconds,
        }
        document = _capture(base_url, EXPORT, headers, run_dir / "export.json")
        profiler = start_if_asked(options.profile, "api", {"audit": cluster.pid("audit")}, database)
        load = _loaded(cluster.pid("audit"), {**plan, "path": EXPORT}, options.loadgen)
        profile = profiler.stop() if profiler is not None else None
        # The trail alone (no proofs, no signed manifest) tells where the time goes.
        trail = _loaded(cluster.pid("audit"), {**plan, "path": TRAIL}, options.loadgen)
        memory = memory_of(cluster.pid("audit"))
    for result in (load, trail):
        result.pop("output", None)
    return {
        **document,
        "load": load,
        "trail_without_proofs": trail,
        "server_memory": memory,
        **({"profile": profile} if profile else {}),
    }


def _bare(options: Options, document: Path, run_dir: Path) -> dict[str, Any]:
    port = free_port()
    process = bare_app.serve(
        "bench.bare_app:create",
        port,
        run_dir / "bare.log",
        {"ANSINH_BENCH_BARE_BODY": str(document)},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        bare_app.wait_ready(process, base_url + "/bare")
        _capture(base_url, "/bare", {}, run_dir / "bare-response.json")
        plan = {
            "base_url": base_url,
            "headers": {},
            "path": "/bare",
            "connections": options.api_connections,
            "seconds": options.api_seconds,
        }
        load = _loaded(process.pid, plan, options.loadgen)
        memory = memory_of(process.pid)
    finally:
        bare_app.stop(process)
    return {"load": load, "server_memory": memory}


async def run_on(database: Database, options: Options, workdir: Path) -> dict[str, Any]:
    run_dir = workdir / f"api-{database}"
    run_dir.mkdir(parents=True, exist_ok=True)
    # The same SQLite ledger serves stage 4 afterwards (built once per run).
    async with database_urls(database, workdir / f"ledger-{database}", ["audit"]) as urls:
        _, build_seconds = await ledger_database(urls["audit"], options.ledger_events)
        measured = await _platform(options, urls["audit"], run_dir, database)
    baseline = _bare(options, run_dir / "export.json", run_dir)
    baseline["load"].pop("output", None)
    return {
        "ledger_events": options.ledger_events,
        "build_seconds": build_seconds,
        "connections": options.api_connections,
        "seconds": options.api_seconds,
        **measured,
        "baseline": baseline,
        "share_of_bare": ratio(
            measured["load"].get("requests_per_s"), baseline["load"].get("requests_per_s")
        ),
    }


def rows(results: dict[str, Any]) -> list[Row]:
    out = []
    for database, figures in results.items():
        load, base = figures["load"], figures["baseline"]["load"]
        trail = figures.get("trail_without_proofs", {})
        share, p99 = figures["share_of_bare"], load.get("p99_ms")
        what = f"{figures['events']} events of {figures['ledger_events']:,}"
        rps, bare_rps = load.get("requests_per_s"), base.get("requests_per_s")
        entries = [
            (
                f"export with proofs, requests/s ({what})",
                rps,
                "/s",
                bare_rps,
                "≥ 50% of bare",
                share is not None and share >= 0.5,
            ),
            ("export with proofs, p50", load.get("p50_ms"), "ms", base.get("p50_ms"), "", None),
            (
                "export with proofs, p99",
                p99,
                "ms",
                base.get("p99_ms"),
                "< 50 ms",
                p99 is not None and p99 < 50,
            ),
            (
                "trail without proofs, requests/s",
                trail.get("requests_per_s"),
                "/s",
                bare_rps,
                "",
                None,
            ),
            ("trail without proofs, p99", trail.get("p99_ms"), "ms", base.get("p99_ms"), "", None),
        ]
        bare = "bare FastAPI, same document"
        out += [Row("3 API", m, database, v, u, b, bare, t, ok) for m, v, u, b, t, ok in entries]
    return out
