"""``make bench``: every benchmark in one run, each figure beside its baseline.

    .venv/bin/python -m bench.run [--households N] [--quick] [--only bulk,latency,...]
                                  [--database sqlite|postgresql|both]

Stages: ``bulk`` (1, bulk review end to end), ``latency`` (2, steady-state commit → ledger),
``api`` (3, trail with proofs under load), ``ledger`` (4, appends and proofs), ``memory``
(5, peak RSS of each service during 1; runs 1 if it was not asked for). Results go to
``bench/results/<name>.json`` and ``<name>.md`` (``--name``, default ``latest``); with
``--merge`` the stages of this run replace theirs in an existing file and the others stay.
Stages 3 and 4 run on the first database given. See bench/README.md for what each figure
means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import report, stage_api, stage_bulk, stage_latency, stage_ledger, stage_memory
from bench.common import Database, Options, Row, machine, postgres_reachable

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = ("bulk", "memory", "latency", "api", "ledger")
ALIASES = {"1": "bulk", "2": "latency", "3": "api", "4": "ledger", "5": "memory"}
PER_DATABASE = {"bulk": stage_bulk, "latency": stage_latency}
FIRST_DATABASE = {"api": stage_api, "ledger": stage_ledger}
ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "bulk": stage_bulk.rows,
    "latency": stage_latency.rows,
    "api": stage_api.rows,
    "ledger": stage_ledger.rows,
    "memory": stage_memory.rows,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--households", type=int, help="stage 1 (default 100,000; quick 150)")
    add("--quick", action="store_true", help="small sizes: a smoke run")
    add("--only", help=f"comma-separated stages of {', '.join(ORDER)} (or 1-5)")
    add(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        help="stages 1 and 2 (default both; quick: sqlite); 3 and 4 use the first",
    )
    add("--rate", type=int, help="stage 2 writes/s (default 500; quick 200)")
    add("--rate-seconds", type=float, help="stage 2 (default 60; quick 10)")
    add("--ledger-events", type=int, help="stages 3 and 4 (default 1,000,000; quick 50,000)")
    add("--api-seconds", type=float, help="stage 3 (default 30; quick 5)")
    add("--api-connections", type=int, default=32, help="stage 3 (default 32)")
    add(
        "--assess-concurrency",
        type=int,
        default=16,
        help="stage 1: survey requests in flight (default 16)",
    )
    add("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    add(
        "--profile",
        metavar="STAGE:SERVICE",
        help="sample SERVICE with py-spy during STAGE (bulk or api), e.g. bulk:audit",
    )
    add("--name", default="latest", help="results file name (default latest)")
    add("--merge", action="store_true", help="keep the other stages of an existing results file")
    add("--keep-workdir", action="store_true")
    return parser


def _options(args: argparse.Namespace) -> Options:
    quick = args.quick
    database = args.database or ("sqlite" if quick else "both")
    choices: dict[str, tuple[Database, ...]] = {
        "both": ("sqlite", "postgresql"),
        "postgresql": ("postgresql",),
        "sqlite": ("sqlite",),
    }
    databases = choices[database]
    return Options(
        households=args.households or (150 if quick else 100_000),
        quick=quick,
        databases=databases,
        rate=args.rate or (200 if quick else 500),
        rate_seconds=args.rate_seconds or (10.0 if quick else 60.0),
        latency_households=200 if quick else 2_000,
        ledger_events=args.ledger_events or (50_000 if quick else 1_000_000),
        api_seconds=args.api_seconds or (5.0 if quick else 30.0),
        api_connections=args.api_connections,
        loadgen=args.loadgen,
        profile=args.profile,
        assess_concurrency=args.assess_concurrency,
    )


def parse(argv: Sequence[str]) -> tuple[Options, list[str], argparse.Namespace]:
    """Options, the stages to run in order, and the raw arguments."""
    parser = _parser()
    args = parser.parse_args(argv)
    only = [ALIASES.get(s.strip(), s.strip()) for s in (args.only or ",".join(ORDER)).split(",")]
    unknown = set(only) - set(ORDER)
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    if "memory" in only and "bulk" not in only:
        only.append("bulk")  # memory is measured during stage 1
    return _options(args), [s for s in ORDER if s in only], args


def _summary(stage: str, options: Options) -> str:
    if stage in ("bulk", "memory"):
        return f"households={options.households:,}"
    if stage == "latency":
        return (
            f"rate={options.rate}/s for {options.rate_seconds:g} s, "
            f"{options.latency_households:,} households"
        )
    if stage == "api":
        return (
            f"ledger={options.ledger_events:,}, {options.api_connections} connections, "
            f"{options.api_seconds:g} s, loadgen={options.loadgen}"
        )
    return f"ledger={options.ledger_events:,}"


async def _stage(
    stage: str, options: Options, workdir: Path, done: dict[str, Any]
) -> dict[str, Any]:
    if stage in PER_DATABASE:
        module = PER_DATABASE[stage]
        return {db: await module.run_on(db, options, workdir) for db in options.databases}
    if stage in FIRST_DATABASE:
        database = options.databases[0]
        return {database: await FIRST_DATABASE[stage].run_on(database, options, workdir)}
    return stage_memory.results(done["bulk"]["results"], workdir / "memory")


async def run_stages(
    options: Options,
    stages: list[str],
    workdir: Path,
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    done: dict[str, Any] = {}
    for stage in stages:
        print(f"bench: {stage} ({_summary(stage, options)}) …", file=sys.stderr, flush=True)
        entry: dict[str, Any] = {
            "options_summary": _summary(stage, options),
            "load_before": [round(x, 1) for x in os.getloadavg()],
        }
        started = time.monotonic()
        try:
            if stage == "memory" and "results" not in done.get("bulk", {}):
                raise RuntimeError("stage 1 did not complete: no memory figures")
            entry["results"] = await _stage(stage, options, workdir, done)
        except Exception as exc:  # one stage failing must not lose the others' figures
            entry["error"] = f"{type(exc).__name__}: {exc}"[:2000]
            entry["traceback"] = traceback.format_exc()[-4000:]
        entry["seconds"] = round(time.monotonic() - started, 1)
        entry["load_after"] = [round(x, 1) for x in os.getloadavg()]
        done[stage] = entry
        record(stage, entry)
        print(
            f"bench: {stage} {'failed: ' + entry['error'] if 'error' in entry else 'done'} "
            f"in {entry['seconds']:,.0f} s",
            file=sys.stderr,
            flush=True,
        )


def _rows(stages: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for stage in ORDER:
        if "results" in stages.get(stage, {}):
            rows += [r.as_json() for r in ROWS[stage](stages[stage]["results"])]
    return rows


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    # SIGTERM like Ctrl-C: the stages' context managers then stop every process they started.
    signal.signal(signal.SIGTERM, _interrupt)
    options, stages, args = parse(sys.argv[1:] if argv is None else argv)
    if "postgresql" in options.databases and not asyncio.run(postgres_reachable()):
        print(
            "bench: PostgreSQL at 127.0.0.1:5432 is not reachable (make postgres)", file=sys.stderr
        )
        return 2
    existing = RESULTS / f"{args.name}.json"
    results: dict[str, Any] = {"stages": {}}
    if args.merge and existing.exists():
        results = json.loads(existing.read_text())
    results |= {
        "machine": machine(),
        "options": options.describe(),
        "command": "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
    }

    def record(stage: str, entry: dict[str, Any]) -> None:
        results["stages"][stage] = entry
        results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        results["rows"] = _rows(results["stages"])
        report.write(results, RESULTS, args.name)

    workdir = Path(tempfile.mkdtemp(prefix="ansinh-bench-"))
    try:
        asyncio.run(run_stages(options, stages, workdir, record))
    finally:
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    json_path, md_path = RESULTS / f"{args.name}.json", RESULTS / f"{args.name}.md"
    print(f"bench: wrote {json_path} and {md_path}", file=sys.stderr)
    print(md_path.read_text())
    failed = [s for s in stages if "error" in results["stages"][s]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
