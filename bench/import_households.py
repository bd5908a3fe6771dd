"""Benchmark of ``POST /imports/households``: generate a CSV, import it, print JSON numbers.

    .venv/bin/python -m bench.import_households --households 20000

Generates N households (~4 persons each, valid citizen IDs) into a temporary CSV, starts
the embedded broker and the households app (SQLite, or --database-url) under uvicorn on a
free port, uploads the file as multipart (or --raw body) and prints households/s, seconds,
CPU seconds and the peak RSS of this process (server and client together) before and after
the import. With --wait-published it also times until the relay has published every event.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from services.households.app import create
from services.households.commands.household_import import CSV_COLUMNS
from services.households.settings import HouseholdsSettings
from shared.auth import Role, mint_token
from shared.kafka import ensure_topics
from shared.localbroker import EmbeddedBroker, free_port

COMMUNES = ("30511", "30526", "30352", "30358")
PROVINCES = ("089", "087", "091", "094", "096", "084")
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Chau", "Thạch", "Danh", "Huỳnh")
# (relation, sex, birth year) of the members of a household, by household size.
FAMILY = (
    ("head", "male", 1975),
    ("spouse", "female", 1978),
    ("child", "female", 2004),
    ("child", "male", 2009),
    ("parent", "female", 1950),
    ("child", "male", 2014),
)
SIZES = (3, 4, 5, 4)  # four persons on average


def citizen_id(index: int, sex: str, year: int) -> str:
    """A valid, unique CCCD: province, sex-and-century digit, birth year, 6-digit serial."""
    province = PROVINCES[index // 1_000_000 % len(PROVINCES)]
    code = (year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    return f"{province}{code}{year % 100:02d}{index % 1_000_000:06d}"


def write_csv(path: Path, households: int) -> int:
    """Write the file; the number of person rows."""
    person = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for number in range(households):
            commune = COMMUNES[number % len(COMMUNES)]
            village = f"Ấp {number % 40 + 1}"
            address = f"Tổ {number % 12 + 1}, {village}"
            household = [
                f"bench-{number:07d}",
                commune,
                village,
                address,
                "rural" if number % 5 else "urban",
                "2019-01-15",
                str(1995 + number % 25),
            ]
            surname = SURNAMES[number % len(SURNAMES)]
            for relation, sex, year in FAMILY[: SIZES[number % len(SIZES)]]:
                writer.writerow(
                    [
                        *household,
                        f"{surname} Văn {number}",
                        sex,
                        f"{year}-05-17",
                        "Khmer" if number % 3 == 0 else "Kinh",
                        citizen_id(person, sex, year),
                        relation,
                    ]
                )
                person += 1
    return person


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kB on Linux


async def outbox_backlog(app: Any) -> int:
    runtime = app.state.runtime
    outbox = runtime.definition.tables.outbox
    async with runtime.engine.connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def post_file(port: int, path: Path, headers: dict[str, str], raw: bool) -> httpx.Response:
    # No timeout: the response comes when the whole file is imported.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None) as client:  # noqa: S113
        with path.open("rb") as upload:
            if raw:

                async def body() -> Any:
                    while chunk := upload.read(1 << 16):
                        yield chunk

                return await client.post(
                    "/imports/households",
                    content=body(),
                    headers={**headers, "Content-Type": "text/csv"},
                )
            return await client.post(
                "/imports/households",
                headers=headers,
                files={"file": ("households.csv", upload, "text/csv")},
            )


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    path = workdir / "households.csv"
    started = time.monotonic()
    persons = write_csv(path, args.households)
    generated = time.monotonic() - started
    with EmbeddedBroker(port=free_port(), log_path=workdir / "tansu.log") as broker:
        await ensure_topics(broker.bootstrap)
        port = free_port()
        settings = HouseholdsSettings(
            database_url=args.database_url or f"sqlite+aiosqlite:///{workdir / 'households.db'}",
            kafka_bootstrap_servers=broker.bootstrap,
            data_dir=workdir / "data",
            port=port,
            log_level=args.log_level,
            run_relay=not args.no_relay,
        )
        app = create(settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.05)
        secret = (settings.data_dir / "secrets" / "jwt-hs256.key").read_text().strip()
        admin = mint_token(secret, subject="bench", role=Role.ADMIN)
        headers = {"Authorization": f"Bearer {admin}"}
        rss_before, cpu_before = peak_rss_mb(), cpu_seconds()
        started = time.monotonic()
        response = await post_file(port, path, headers, args.raw)
        seconds = time.monotonic() - started
        cpu = cpu_seconds() - cpu_before
        rss_after = peak_rss_mb()
        report = response.json()
        backlog = await outbox_backlog(app)
        published_seconds = None
        if args.wait_published:
            while await outbox_backlog(app):  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.5)
            published_seconds = round(time.monotonic() - started, 1)
        server.should_exit = True
        await serving
    return {
        "status": response.status_code,
        "households": args.households,
        "persons": persons,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "generate_seconds": round(generated, 1),
        "upload": "raw" if args.raw else "multipart",
        "import_seconds": round(seconds, 1),
        "households_per_s": round(args.households / seconds),
        "persons_per_s": round(persons / seconds),
        # CPU of this process (server, relay and client): steadier than wall time on a busy machine.
        "import_cpu_seconds": round(cpu, 1),
        "households_per_cpu_s": round(args.households / cpu),
        "imported": report.get("imported"),
        "skipped_existing": report.get("skipped_existing"),
        "server_duration_seconds": report.get("duration_seconds"),
        "peak_rss_mb_before_import": rss_before,
        "peak_rss_mb": rss_after,
        "outbox_unsent_at_response": backlog,
        "all_published_after_seconds": published_seconds,
        "error": None if response.status_code == 200 else report.get("detail"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument(
        "--raw", action="store_true", help="send the CSV as the body, not multipart"
    )
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    parser.add_argument(
        "--wait-published",
        action="store_true",
        help="also time until the relay has published every event",
    )
    parser.add_argument(
        "--no-relay",
        action="store_true",
        help="leave the outbox unpublished (the import alone, no relay competing)",
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ansinh-bench-") as workdir:
        print(json.dumps(asyncio.run(run(args, Path(workdir))), indent=2))


if __name__ == "__main__":
    main()
