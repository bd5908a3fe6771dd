"""Stage 4, the ledger itself: appends per second, and proofs at N (1M) leaves.

Appends: ``LedgerStore.append`` on top of the N-leaf ledger, one transaction per event as
the audit consumer does it, and in transactions of 200 (a consumer batch). Baseline: the
same canonical event bytes inserted into a two-column table (id, bytes), one per
transaction, through the same engine: the floor of a durable insert on this database.

Proofs: an inclusion proof (random leaf) and a consistency proof (random earlier size) of
the N-leaf tree, produced and verified with the pure functions of ``shared.ledger.merkle``
over the tree's nodes in memory, and produced through ``LedgerStore`` (its O(log n)
primary-key reads included). Baselines: the SHA-256 node hashes a proof of that height
needs (the arithmetic floor), and one primary-key read of a leaf (the database floor).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import Database, Options, Row, database_urls, percentiles, rate
from bench.ledger_fixture import TreeLevels, events, ledger_database
from services.audit.ledger.store import LedgerStore
from shared.db import create_engine, session_factory
from shared.ledger import merkle as ledger
from shared.ledger.leaf import canonical_event_bytes, leaf_attributes

SAMPLES = 2_000


def _timed(work: Callable[[], object], count: int = SAMPLES) -> dict[str, Any]:
    spent = []
    for _ in range(count):
        started = time.perf_counter()
        work()
        spent.append(time.perf_counter() - started)
    return percentiles(spent)


async def _timed_async(work: Callable[[], Awaitable[object]], count: int) -> dict[str, Any]:
    spent = []
    for _ in range(count):
        started = time.perf_counter()
        await work()
        spent.append(time.perf_counter() - started)
    return percentiles(spent)


def pure_proofs(tree: TreeLevels, size: int, seed: int = 6962) -> dict[str, Any]:
    """Produce and verify proofs over the in-memory tree (no I/O)."""
    rng = random.Random(seed)
    root = ledger.tree_root(size, tree)
    index = rng.randrange(size)
    first = rng.randrange(1, size)
    first_root = ledger.tree_root(first, tree)
    path = ledger.inclusion_proof(index, size, tree)
    proof = ledger.consistency_proof(first, size, tree)
    leaf = tree[ledger.NodeId(0, index)]
    ledger.verify_inclusion(index, size, leaf, path, root)
    ledger.verify_consistency(first, size, first_root, root, proof)
    height = len(path)
    return {
        "tree_size": size,
        "inclusion_proof_hashes": height,
        "consistency_proof_hashes": len(proof),
        "inclusion_produce": _timed(
            lambda: ledger.inclusion_proof(rng.randrange(size), size, tree)
        ),
        "inclusion_verify": _timed(lambda: ledger.verify_inclusion(index, size, leaf, path, root)),
        "consistency_produce": _timed(
            lambda: ledger.consistency_proof(rng.randrange(1, size), size, tree)
        ),
        "consistency_verify": _timed(
            lambda: ledger.verify_consistency(first, size, first_root, root, proof)
        ),
        "baseline_hashes": _timed(lambda: [ledger.node_hash(leaf, leaf) for _ in range(height)]),
    }


async def store_proofs(url: str, size: int, count: int, seed: int = 9162) -> dict[str, Any]:
    """Proofs through the store: the database reads a proof needs, in one session."""
    rng = random.Random(seed)
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            store = LedgerStore(session)
            return {
                "inclusion_produce": await _timed_async(
                    lambda: store.inclusion_proof(rng.randrange(size), size), count
                ),
                "consistency_produce": await _timed_async(
                    lambda: store.consistency_proof(rng.randrange(1, size), size), count
                ),
                "baseline_primary_key_read": await _timed_async(
                    lambda: store.entry(rng.randrange(size)), count
                ),
            }
    finally:
        await engine.dispose()


async def appends(url: str, start: int, count: int, per_transaction: int) -> dict[str, Any]:
    """``count`` appends after leaf ``start``, ``per_transaction`` to a transaction."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    todo = list(events(count, start=start))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, count, per_transaction):
            async with sessions() as session, session.begin():
                store = LedgerStore(session)
                for event in todo[first : first + per_transaction]:
                    await store.append(event)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await engine.dispose()
    return {
        # On SQLite the database works in this process, so its CPU is counted here too.
        "cpu_seconds": round(cpu, 3),
        "appends_per_cpu_s": rate(count, cpu),
        "appends": count,
        "per_transaction": per_transaction,
        "seconds": round(seconds, 3),
        "appends_per_s": rate(count, seconds),
    }


async def plain_inserts(url: str, start: int, count: int) -> dict[str, Any]:
    """Baseline: the same bytes into a plain table, one transaction each."""
    engine = create_engine(url)
    rows = [
        {"id": e.id, "bytes": canonical_event_bytes(leaf_attributes(e), e.data)}
        for e in events(count, start=start)
    ]
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS bench_plain "
                    "(id VARCHAR(36) PRIMARY KEY, bytes BYTEA)"
                    if engine.dialect.name == "postgresql"
                    else "CREATE TABLE IF NOT EXISTS bench_plain "
                    "(id VARCHAR(36) PRIMARY KEY, bytes BLOB)"
                )
            )
        insert = text("INSERT INTO bench_plain (id, bytes) VALUES (:id, :bytes)")
        started, cpu = time.perf_counter(), time.process_time()
        for row in rows:
            async with engine.begin() as conn:
                await conn.execute(insert, row)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await engine.dispose()
    return {
        "inserts": count,
        "seconds": round(seconds, 3),
        "inserts_per_s": rate(count, seconds),
        "cpu_seconds": round(cpu, 3),
        "inserts_per_cpu_s": rate(count, cpu),
    }


async def run_on(database: Database, options: Options, workdir: Path) -> dict[str, Any]:
    size = options.ledger_events
    count = 500 if options.quick else 5_000
    async with database_urls(database, workdir / f"ledger-{database}", ["audit"]) as urls:
        url = urls["audit"]
        tree, build_seconds = await ledger_database(url, size)
        pure = pure_proofs(tree, size)
        stored = await store_proofs(url, size, 200 if options.quick else SAMPLES)
        single = await appends(url, size, count, 1)
        batched = await appends(url, size + count, count, 200)
        plain = await plain_inserts(url, size + 2 * count, count)
    return {
        "ledger_events": size,
        "build_seconds": build_seconds,
        "pure": pure,
        "store": stored,
        "append_one_per_transaction": single,
        "append_200_per_transaction": batched,
        "baseline_plain_insert": plain,
    }


def _appends(figures: dict[str, Any], database: str, at: str) -> list[Row]:
    plain = figures["baseline_plain_insert"]["inserts_per_s"]
    out = []
    for key, label in (
        ("append_one_per_transaction", "1 per transaction"),
        ("append_200_per_transaction", "200 per transaction"),
    ):
        value = figures[key]["appends_per_s"]
        out.append(
            Row(
                "4 ledger",
                f"appends/s, {label}, {at}",
                database,
                value,
                "/s",
                plain,
                "plain insert, 1 per transaction",
                "≥ 50,000/s",
                value is not None and value >= 50_000,
            )
        )
    return out


def rows(results: dict[str, Any]) -> list[Row]:
    """Proof times as p50 (p99 in the JSON: on a shared machine it is mostly preemption)."""
    out = []
    for database, figures in results.items():
        at = f"at {figures['ledger_events']:,} leaves"
        out += _appends(figures, database, at)
        pure, stored = figures["pure"], figures["store"]
        floor = pure["baseline_hashes"]["p50_ms"]
        for key, label in (
            ("inclusion_produce", "inclusion proof, produce (pure)"),
            ("inclusion_verify", "inclusion proof, verify"),
            ("consistency_produce", "consistency proof, produce (pure)"),
            ("consistency_verify", "consistency proof, verify"),
        ):
            value = pure[key]["p50_ms"]
            out.append(
                Row(
                    "4 ledger",
                    f"{label}, p50, {at}",
                    database,
                    value,
                    "ms",
                    floor,
                    "SHA-256 hashes of one path",
                    "< 1 ms",
                    value is not None and value < 1,
                )
            )
        read = stored["baseline_primary_key_read"]["p50_ms"]
        for key, label in (
            ("inclusion_produce", "inclusion proof from the store"),
            ("consistency_produce", "consistency proof from the store"),
        ):
            value = stored[key]["p50_ms"]
            out.append(
                Row(
                    "4 ledger",
                    f"{label}, p50, {at}",
                    database,
                    value,
                    "ms",
                    read,
                    "one primary-key read",
                    "< 1 ms",
                    value is not None and value < 1,
                )
            )
    return out
