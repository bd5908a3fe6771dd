"""Benchmark of ``POST /imports/assessments`` against the per-row endpoint; prints JSON.

    .venv/bin/python -m bench.import_assessments --assessments 10000
    .venv/bin/python -m bench.import_assessments --assessments 10000 --database postgresql

Starts the embedded broker and the households app (SQLite in a temporary directory, or a
fresh PostgreSQL database dropped afterwards) under uvicorn, registers 2 × N households with
``POST /imports/households`` (not timed), then records one survey for each of them: the
first N from a survey CSV in the generator's columns (``<name>.assessments.csv``) with one
bulk import, the other N with ``POST /households/{id}/assessments``, ``--concurrency``
requests in flight. Prints rows/s of both, the speed-up, and the CPU seconds of this
process (server, relay and client together) for each.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.common import postgres_databases
from bench.import_households import cpu_seconds, peak_rss_mb, write_csv
from deploy.local.district.generator import ASSESSMENT_COLUMNS
from services.households.app import create
from services.households.settings import HouseholdsSettings
from shared.auth import Role, mint_token
from shared.kafka import ensure_topics
from shared.localbroker import EmbeddedBroker, free_port

STANDARD = "QD-59-2015"  # the households are registered in 2019
INDICATORS = ("health_insurance", "water_source", "hygienic_latrine", "telecom_use")


def survey(number: int) -> dict[str, Any]:
    """The generator's survey columns for household ``number``: incomes around the lines."""
    return {
        "assessed_on": (date(2019, 9, 3) + timedelta(days=number % 80)).isoformat(),
        "standard_code": STANDARD,
        "income_per_person_month": 500_000 + (number * 7919) % 1_500_000,
        "deprived_indicators": list(INDICATORS[: number % (len(INDICATORS) + 1)]),
    }


def write_surveys(path: Path, numbers: range) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(ASSESSMENT_COLUMNS)
        for number in numbers:
            values = {"household_ref": f"bench-{number:07d}", **survey(number)}
            values["deprived_indicators"] = ";".join(values["deprived_indicators"])
            writer.writerow([values[name] for name in ASSESSMENT_COLUMNS])


async def upload(client: httpx.AsyncClient, url: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        response = await client.post(url, files={"file": (path.name, file, "text/csv")})
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:500]}")
    report: dict[str, Any] = response.json()
    return report


async def household_ids(client: httpx.AsyncClient) -> dict[str, str]:
    """external_ref → household_id of every household."""
    found: dict[str, str] = {}
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"after": after} if after else {})
        page = (await client.get("/households", params=params)).json()
        found.update({h["external_ref"]: h["household_id"] for h in page["items"]})
        after = page["next_cursor"]
        if after is None:
            return found


async def post_each(client: httpx.AsyncClient, ids: list[tuple[int, str]], width: int) -> int:
    """POST a survey for each (number, household_id), ``width`` in flight; the failures."""
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in ids:
        queue.put_nowait(item)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            number, household_id = queue.get_nowait()
            response = await client.post(
                f"/households/{household_id}/assessments", json=survey(number)
            )
            failures += response.status_code != 201

    await asyncio.gather(*(worker() for _ in range(width)))
    return failures


@asynccontextmanager
async def database_url(args: argparse.Namespace, workdir: Path) -> AsyncIterator[str]:
    if args.database == "postgresql":
        async with postgres_databases(["households"]) as urls:
            yield urls["households"]
    else:
        yield f"sqlite+aiosqlite:///{workdir / 'households.db'}"


async def measure(
    client: httpx.AsyncClient, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    n = args.assessments
    households_csv, surveys_csv = workdir / "households.csv", workdir / "surveys.csv"
    write_csv(households_csv, 2 * n)
    write_surveys(surveys_csv, range(n))
    registered = await upload(client, "/imports/households", households_csv)
    refs = await household_ids(client)

    cpu, started = cpu_seconds(), time.monotonic()
    report = await upload(client, "/imports/assessments", surveys_csv)
    bulk_seconds, bulk_cpu = time.monotonic() - started, cpu_seconds() - cpu

    per_row = [(number, refs[f"bench-{number:07d}"]) for number in range(n, 2 * n)]
    cpu, started = cpu_seconds(), time.monotonic()
    failures = await post_each(client, per_row, args.concurrency)
    row_seconds, row_cpu = time.monotonic() - started, cpu_seconds() - cpu
    return {
        "database": args.database,
        "assessments": n,
        "households_registered": registered["imported"],
        "bulk": {
            "seconds": round(bulk_seconds, 2),
            "rows_per_s": round(n / bulk_seconds),
            "cpu_seconds": round(bulk_cpu, 2),
            "imported": report["imported"],
            "server_duration_seconds": report["duration_seconds"],
        },
        "per_row": {
            "seconds": round(row_seconds, 2),
            "rows_per_s": round(n / row_seconds),
            "cpu_seconds": round(row_cpu, 2),
            "concurrency": args.concurrency,
            "failures": failures,
        },
        "speedup": round(row_seconds / bulk_seconds, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with EmbeddedBroker(port=free_port(), log_path=workdir / "tansu.log") as broker:
        await ensure_topics(broker.bootstrap)
        async with database_url(args, workdir) as url:
            port = free_port()
            settings = HouseholdsSettings(
                database_url=url,
                kafka_bootstrap_servers=broker.bootstrap,
                data_dir=workdir / "data",
                port=port,
                log_level=args.log_level,
                run_relay=not args.no_relay,
            )
            server = uvicorn.Server(
                uvicorn.Config(create(settings), host="127.0.0.1", port=port, log_level="warning")
            )
            serving = asyncio.create_task(server.serve())
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                await asyncio.sleep(0.05)
            secret = (settings.data_dir / "secrets" / "jwt-hs256.key").read_text().strip()
            headers = {
                "Authorization": f"Bearer {mint_token(secret, subject='bench', role=Role.ADMIN)}"
            }
            try:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}",
                    headers=headers,
                    timeout=None,  # noqa: S113 - the import answers when the whole file is in
                ) as client:
                    return await measure(client, args, workdir)
            finally:
                server.should_exit = True
                await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=10_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="per-row requests in flight (as bench/stage_bulk.py)",
    )
    parser.add_argument(
        "--no-relay", action="store_true", help="leave the outbox unpublished (the writes alone)"
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ansinh-bench-") as workdir:
        print(json.dumps(asyncio.run(run(args, Path(workdir))), indent=2))


if __name__ == "__main__":
    main()
