"""Stage 2, steady state: from the origin's database commit to the audit ledger append.

The whole platform runs (all five services, so every consumer group reads what it reads in
production). After a bulk import has settled, a load generator in its own process sends
``POST /households/{id}/assessments`` at a fixed rate (open loop: on schedule whatever
the replies). Each is one transaction at the origin that records the survey and appends
one ``household_assessed`` event to the outbox; the relay publishes it, the audit
consumer appends it to the ledger.

Latency of an event = when its ledger row became visible − its ``ce_time``. ``ce_time``
is stamped inside the origin's transaction just before the commit, so the figure includes
the commit itself (a little pessimistic). Visibility is observed by polling the ledger
every 10 ms (``leaf_index`` above the last seen), so it includes the audit commit and up
to one poll interval. On PostgreSQL the figure from the row's own ``appended_at`` (the
audit transaction's start) is reported too; on SQLite that column has only whole
seconds. Lost = acknowledged writes whose event is not in the ledger once everything
settled; duplicates = extra ledger leaves for one assessment (both must be 0).

Baseline: the same events at the same rate through a fresh broker of the same build,
bare aiokafka producer to consumer group, time from send to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import kafka_baseline, loadgen, stores
from bench.cluster import Cluster, wait_until_settled
from bench.common import Database, Options, Row, database_urls, percentiles
from bench.import_households import post_file
from bench.review import ReviewOffice
from bench.stage_bulk import district_files
from shared.events import SERVICES, CloudEvent
from shared.localbroker import EmbeddedBroker, free_port

ASSESSED = "vn.ansinh.households.household_assessed.v1"
SURVEY = {
    "assessed_on": "2019-10-01",
    "income_per_person_month": 1_500_000,
    "deprived_indicators": [],
}


def _moment(value: str | datetime) -> float:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class LedgerWatcher:
    """Notes when each new ledger row becomes visible (a poll every ``interval`` s)."""

    def __init__(self, url: str, after: int, interval: float = 0.01) -> None:
        self.url = url
        self.last = after - 1
        self.interval = interval
        self.seen: list[dict[str, Any]] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        engine = create_async_engine(self.url)
        sql = text(
            "SELECT leaf_index, ce_type, ce_time, appended_at, event_bytes "
            "FROM ledger_leaves WHERE leaf_index > :last ORDER BY leaf_index"
        )
        try:
            async with engine.connect() as conn:
                while True:
                    rows = (await conn.execute(sql, {"last": self.last})).all()
                    await conn.rollback()  # end the read: the next poll sees new commits
                    now = time.time()
                    for row in rows:
                        self.seen.append(
                            {
                                "type": row[1],
                                "ce_time": row[2],
                                "appended_at": row[3],
                                "bytes": bytes(row[4]),
                                "visible_at": now,
                            }
                        )
                        self.last = row[0]
                    if self._stop.is_set():
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.interval)
        finally:
            await engine.dispose()

    def stop(self) -> None:
        self._stop.set()


async def _prepared(cluster: Cluster, csv_path: Path) -> list[str]:
    """Households registered and every consequence settled; their ids."""
    port = int(cluster.url("households").rsplit(":", 1)[1])
    response = await post_file(port, csv_path, cluster.headers(), raw=False)
    if response.status_code != 200:
        raise RuntimeError(f"import failed: {response.status_code} {response.text[:500]}")
    async with httpx.AsyncClient(timeout=60) as client:
        await wait_until_settled(client, cluster)
    async with httpx.AsyncClient(base_url=cluster.url("households"), timeout=60) as client:
        listed = await ReviewOffice(client, cluster.headers(), 4).listed()
    return [h.household_id for h in listed]


def _outcome(watched: list[dict[str, Any]], replies: list[Any], database: str) -> dict[str, Any]:
    acknowledged = {r["assessment_id"] for r in replies}
    assessed = [w for w in watched if w["type"] == ASSESSED]
    recorded = Counter(json.loads(w["bytes"])["data"]["assessment_id"] for w in assessed)
    commit_to_visible = [w["visible_at"] - _moment(w["ce_time"]) for w in assessed]
    result = {
        "acknowledged": len(acknowledged),
        "ledger_events": len(assessed),
        "lost": len(acknowledged - set(recorded)),
        "duplicates": sum(n - 1 for n in recorded.values() if n > 1),
        "recorded_unacknowledged": len(set(recorded) - acknowledged),
        "commit_to_ledger_visible": percentiles(commit_to_visible),
    }
    if database == "postgresql":
        result["commit_to_append_started"] = percentiles(
            [_moment(w["appended_at"]) - _moment(w["ce_time"]) for w in assessed]
        )
    return result


async def _steady_load(
    cluster: Cluster, audit_url: str, households: list[str], options: Options, workdir: Path
) -> dict[str, Any]:
    plan = {
        "base_url": cluster.url("households"),
        "headers": cluster.headers(),
        "per_second": options.rate,
        "seconds": options.rate_seconds,
        "requests": [["POST", f"/households/{h}/assessments", SURVEY] for h in households],
    }
    plan_path, out_path = workdir / "latency-plan.json", workdir / "latency-out.json"
    plan_path.write_text(json.dumps(plan))
    watcher = LedgerWatcher(audit_url, await stores.ledger_size(audit_url))
    watching = asyncio.create_task(watcher.run())
    generator = loadgen.start_python("rate", plan_path, out_path)
    settled: dict[str, Any] | None = None
    try:
        while generator.poll() is None:  # noqa: ASYNC110 - a child process, no event to await
            await asyncio.sleep(0.2)
        # Bounded: a platform that cannot keep up is reported with what had not arrived.
        async with httpx.AsyncClient(timeout=60) as client:
            flow, _ = await wait_until_settled(
                client, cluster, within=120 + 10 * options.rate_seconds
            )
        settled = flow.as_json()
    except TimeoutError:
        settled = None
    finally:
        if generator.poll() is None:
            generator.terminate()
            generator.wait()
        await asyncio.sleep(watcher.interval * 5)
        watcher.stop()
        await watching
    load = json.loads(out_path.read_text())
    replies = load.pop("replies")
    return {
        "load": load,
        "settled": settled is not None,
        "flow": settled,
        "watched": watcher.seen,
        "replies": replies,
    }


async def run_on(database: Database, options: Options, workdir: Path) -> dict[str, Any]:
    csv_path, _ = district_files(workdir, options.latency_households)
    run_dir = workdir / f"latency-{database}"
    async with database_urls(database, run_dir, SERVICES) as urls:
        async with Cluster(run_dir / "data", urls) as cluster:
            households = await _prepared(cluster, csv_path)
            steady = await _steady_load(cluster, urls["audit"], households, options, run_dir)
        sample = await _assessed_sample(urls["households"])
    outcome = _outcome(steady.pop("watched"), steady.pop("replies"), database)
    with EmbeddedBroker(port=free_port(), log_path=run_dir / "baseline-broker.log") as broker:
        baseline = await kafka_baseline.latency(
            broker.bootstrap, sample, options.rate, options.rate_seconds
        )
    return {
        "rate_per_s": options.rate,
        "seconds": options.rate_seconds,
        **steady,
        **outcome,
        "baseline": baseline,
    }


async def _assessed_sample(households_url: str) -> list[CloudEvent]:
    rows = await stores.query(
        households_url,
        "SELECT event_id, ce_source, ce_subject, ce_time, "
        "ce_dataschema, data FROM outbox WHERE ce_type = :t LIMIT 500",
        t=ASSESSED,
    )
    return [
        CloudEvent(
            id=r[0],
            source=r[1],
            type=ASSESSED,
            subject=r[2],
            time=r[3],
            dataschema=r[4],
            data=json.loads(r[5]),
        )
        for r in rows
    ]


def rows(results: dict[str, Any]) -> list[Row]:
    out = []
    stage = "2 steady latency"
    for database, figures in results.items():
        measured, base = figures["commit_to_ledger_visible"], figures["baseline"]
        at = f"at {figures['rate_per_s']}/s"
        for key, label in (("p50_ms", "p50"), ("p99_ms", "p99"), ("max_ms", "max")):
            value = measured[key]
            target, meets = (
                ("< 1,000 ms", value is not None and value < 1000)
                if (key == "p99_ms")
                else ("", None)
            )
            out.append(
                Row(
                    stage,
                    f"commit → ledger {label} {at}",
                    database,
                    value,
                    "ms",
                    base[key],
                    "bare aiokafka send → read",
                    target,
                    meets,
                )
            )
        wrong = figures["lost"] + figures["duplicates"]
        what = (
            "lost / applied twice"
            if figures["settled"]
            else "not in the ledger when the wait ended (never settled) / applied twice"
        )
        out.append(Row(stage, what, database, wrong, "events", None, "", "0", wrong == 0))
        out.append(
            Row(
                stage,
                "writes/s the load generator achieved",
                database,
                figures["load"]["achieved_per_s"],
                "/s",
                None,
                "",
                f"{figures['rate_per_s']}/s",
            )
        )
    return out
