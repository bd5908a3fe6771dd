"""The SQLite engines of shared/db.py on a real database file: locking and concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import create_engine, create_read_engine

pytestmark = pytest.mark.integration


async def test_a_writer_waiting_for_the_lock_leaves_the_event_loop_free_and_then_writes(
    tmp_path: Path,
) -> None:
    """Statements of a transaction that holds the write lock run on the event loop's
    thread; waiting for the lock must not: the service keeps answering meanwhile."""
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (body TEXT)"))
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO notes VALUES ('first')")
    releaser = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        releaser.start()
        started = time.monotonic()
        async with engine.begin() as connection:  # waits about a second for the lock
            await connection.execute(text("INSERT INTO notes VALUES ('second')"))
            rows = (await connection.execute(text("SELECT body FROM notes"))).scalars().all()
        waited = time.monotonic() - started
    finally:
        ticker.cancel()
        releaser.join()
        holder.close()
        await engine.dispose()
    assert rows == ["first", "second"]  # the writer saw the holder's commit, then its own
    assert waited >= 0.9
    assert ticks >= 40  # the loop ran its other tasks all the while (about 100 ticks)


async def test_reads_see_committed_writes_and_writes_interleave_with_reads(
    tmp_path: Path,
) -> None:
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    reader = create_read_engine(engine)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        await connection.execute(text("INSERT INTO counter VALUES (0)"))

    async def bump() -> None:
        for _ in range(50):
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE counter SET n = n + 1"))
            await asyncio.sleep(0)

    async def read() -> list[int]:
        seen = []
        for _ in range(50):
            async with reader.connect() as connection:
                seen.append((await connection.execute(text("SELECT n FROM counter"))).scalar_one())
            await asyncio.sleep(0)
        return seen

    try:
        _, _, seen = await asyncio.gather(bump(), bump(), read())
        async with reader.connect() as connection:
            final = (await connection.execute(text("SELECT n FROM counter"))).scalar_one()
    finally:
        await reader.dispose()
        await engine.dispose()
    assert final == 100  # no increment lost between the two writers
    assert seen == sorted(seen)  # reads only ever see committed, growing values
