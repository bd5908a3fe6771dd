"""Stage 1, bulk review end to end, and stage 5, the memory it takes.

N households of the district generator go through ``POST /imports/households`` (the CSV
the generator writes), every village's periodic review is run to recognition through
the households API (``bench.review``), and the clock stops when every service's metrics
show that each event published anywhere was consumed by every consumer group reading its
topic, no outbox holds an unsent row, and the audit ledger holds exactly as many leaves
as all outboxes hold events. Households per second = N / that time.

Baseline: as many records as the run published, drawn from its own events (same values,
same CloudEvents headers), produced and read by one consumer group with bare aiokafka
through a fresh embedded broker of the same build (``bench.kafka_baseline``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx

from bench import kafka_baseline, stores
from bench.cluster import Cluster, wait_until_settled
from bench.common import (
    Database,
    Options,
    Row,
    Timer,
    cpu_seconds_of,
    database_urls,
    rate,
)
from bench.import_households import post_file
from bench.profiling import start_if_asked
from bench.review import read_surveys, review_district
from deploy.local.district.generator import (
    DEFAULT_SEED,
    assessments_path,
    generate_district,
    write_district,
)
from shared.events import SERVICES
from shared.localbroker import EmbeddedBroker, free_port


def district_files(workdir: Path, households: int) -> tuple[Path, dict[str, Any]]:
    """The generator's households CSV (and survey CSV beside it), written once per size."""
    path = workdir / f"district-{households}.csv"
    started = time.monotonic()
    if not path.exists():
        write_district(path, generate_district(DEFAULT_SEED, households))
    persons = sum(1 for _ in path.open(encoding="utf-8")) - 1
    return path, {
        "households": households,
        "persons": persons,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "generate_seconds": round(time.monotonic() - started, 1),
    }


async def _pipeline(cluster: Cluster, csv_path: Path, options: Options) -> dict[str, Any]:
    """Import, review, settle: the timed part of the stage."""
    headers = cluster.headers()
    surveys = read_surveys(assessments_path(csv_path))
    households_url = cluster.url("households")
    timer = Timer()
    response = await post_file(int(households_url.rsplit(":", 1)[1]), csv_path, headers, raw=False)
    report = response.json()
    if response.status_code != 200 or report.get("imported") != options.households:
        raise RuntimeError(f"import failed: {response.status_code} {str(report)[:1000]}")
    timer.mark("imported")
    # Idle connections closed before uvicorn's 5 s keep-alive ends: reusing one the server
    # is closing at that moment fails the request (httpx.ReadError).
    limits = httpx.Limits(keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=households_url, timeout=600, limits=limits) as client:
        tally = await review_district(
            client, headers, surveys, concurrency=options.assess_concurrency
        )
    timer.mark("reviewed")
    async with httpx.AsyncClient(timeout=30) as client:
        flow, settled_at = await wait_until_settled(
            client, cluster, within=max(3600.0, options.households * 0.5)
        )
    seconds = settled_at - timer.started
    return {
        "seconds": round(seconds, 2),
        "phases": timer.marks,
        "households_per_s": rate(options.households, seconds),
        "import_seconds": timer.marks["imported"],
        "review": vars(tally),
        "flow": flow.as_json(),
    }


async def _agreement(urls: dict[str, str]) -> dict[str, Any]:
    outboxes = await stores.outbox_counts(urls)
    leaves = await stores.ledger_size(urls["audit"])
    return {
        "outbox_events": outboxes,
        "ledger_leaves": leaves,
        "agree": leaves == sum(outboxes.values()),
    }


async def run_on(database: Database, options: Options, workdir: Path) -> dict[str, Any]:
    csv_path, district = district_files(workdir, options.households)
    run_dir = workdir / f"bulk-{database}"
    async with database_urls(database, run_dir, SERVICES) as urls:
        async with Cluster(run_dir / "data", urls) as cluster:
            at_ready, cpu_before = cluster.memory(), _cpu(cluster)
            pids = {name: cluster.pid(name) for name in cluster.services}
            profiler = start_if_asked(options.profile, "bulk", pids, database)
            try:
                result = await _pipeline(cluster, csv_path, options)
            finally:
                profile = profiler.stop() if profiler is not None else None
            result["cpu_seconds"] = _spent(cpu_before, _cpu(cluster))
            if profile is not None:
                result["profile"] = profile
            memory = cluster.memory()
            result["agreement"] = await _agreement(urls)
        for name, figures in memory.items():
            figures["rss_at_ready_mb"] = at_ready[name]["rss_mb"]
        sizes = await stores.event_bytes(urls)
        counts = result["agreement"]["outbox_events"]
        sample = await stores.sample_events(urls, counts)
    with EmbeddedBroker(port=free_port(), log_path=run_dir / "baseline-broker.log") as broker:
        baseline = await kafka_baseline.throughput(broker.bootstrap, sample, int(sizes["events"]))
    baseline["households_per_s"] = rate(options.households, baseline["seconds"])
    return {**result, "district": district, "events": sizes, "memory": memory, "baseline": baseline}


def _cpu(cluster: Cluster) -> dict[str, float | None]:
    """CPU seconds so far of each service, and of this process (the operators' client)."""
    return {**cluster.cpu(), "bench_client": cpu_seconds_of(os.getpid())}


def _spent(
    before: dict[str, float | None], after: dict[str, float | None]
) -> dict[str, float | None]:
    """CPU seconds used between two readings of :func:`_cpu`, and all services together."""
    spent: dict[str, float | None] = {}
    for name, b in before.items():
        a = after[name]
        spent[name] = round(a - b, 1) if a is not None and b is not None else None
    spent["all_services"] = round(
        sum(v for k, v in spent.items() if v is not None and k != "bench_client"), 1
    )
    return spent


def rows(results: dict[str, Any]) -> list[Row]:
    out = []
    for database, figures in results.items():
        value, base = figures["households_per_s"], figures["baseline"]["households_per_s"]
        out.append(
            Row(
                "1 bulk review",
                "households/s end to end",
                database,
                value,
                "/s",
                base,
                "same events, bare aiokafka",
                "≥ 2,000/s",
                value is not None and value >= 2000,
            )
        )
        out.append(
            Row(
                "1 bulk review",
                f"seconds for {figures['district']['households']:,} households",
                database,
                figures["seconds"],
                "s",
                figures["baseline"]["seconds"],
                "same events, bare aiokafka",
            )
        )
        out.append(
            Row(
                "1 bulk review",
                "events/s (all services)",
                database,
                rate(figures["events"]["events"], figures["seconds"]),
                "/s",
                figures["baseline"]["events_per_s"],
                "bare aiokafka",
            )
        )
    return out
