"""``ansinh verify``'s full audit over a ledger of N leaves (default 1M), timed.

    .venv/bin/python -m bench.verify_million [N]

Builds the ledger with bench/ledger_fixture.py in a throw-away SQLite file, signs one
head, serves the audit API (no broker consumers: run_consumers off) and runs the same
verify_ledger as the CLI against it: every leaf read through GET /ledger/entries and
recomputed. Prints the seconds of the first (full) run and of a second (incremental) run.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from bench.ledger_fixture import build_ledger
from deploy.local.verify import Trust, inspector_token, verify_ledger
from services.audit.app import create, ledger_key
from services.audit.ledger.store import LedgerStore
from services.audit.settings import AuditSettings
from shared.db import create_engine, session_factory
from shared.localbroker import EmbeddedBroker, free_port
from shared.service import secret_value


async def main(count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="ansinh-verify-"))
    url = f"sqlite+aiosqlite:///{work / 'audit.db'}"
    started = time.monotonic()
    await build_ledger(url, count)
    print(f"built {count} leaves in {time.monotonic() - started:.1f} s", flush=True)
    with EmbeddedBroker(port=free_port(), log_path=work / "tansu.log") as broker:
        settings = AuditSettings(
            database_url=url,
            data_dir=work,
            kafka_bootstrap_servers=broker.bootstrap,
            run_consumers=False,
            log_level="WARNING",
        )
        engine = create_engine(url)
        async with session_factory(engine)() as session, session.begin():
            await LedgerStore(session).sign_tree_head(ledger_key(settings), datetime.now(UTC))
        await engine.dispose()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create(settings), port=port, log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.5)
        print(f"service up (start-up check included) after {time.monotonic() - started:.1f} s")
        tok = inspector_token(secret_value(settings, "jwt_secret", "jwt-hs256.key"))
        for run in ("full", "incremental"):
            began = time.monotonic()
            report = await asyncio.to_thread(_verify, f"http://127.0.0.1:{port}", tok, work)
            print(f"{run} verify of {count} leaves: {time.monotonic() - began:.1f} s, ok={report}")
        server.should_exit = True
        await task


def _verify(url: str, tok: str, data_dir: Path) -> bool:
    with httpx.Client(timeout=300) as client:
        report = verify_ledger(client, url, tok, data_dir, None, Trust())
    if not report.ok:
        print(report.verdict.failures)
    return report.ok


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
