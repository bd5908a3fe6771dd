"""Reading the services' databases from outside: outbox and ledger counts, event samples.

Plain engines (no ``BEGIN IMMEDIATE``): these reads never take SQLite's write lock, so
they do not slow the services they look at.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.events import CloudEvent


async def query(url: str, sql: str, **params: Any) -> list[Any]:
    """The rows of one read-only query against the database at ``url``."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def outbox_counts(urls: Mapping[str, str]) -> dict[str, int]:
    """Rows in each service's outbox: every event the service ever published (or will)."""
    return {
        name: int((await query(url, "SELECT count(*) FROM outbox"))[0][0])
        for name, url in urls.items()
    }


async def ledger_size(audit_url: str) -> int:
    return int((await query(audit_url, "SELECT count(*) FROM ledger_leaves"))[0][0])


async def sample_events(
    urls: Mapping[str, str], counts: Mapping[str, int], size: int = 2000
) -> list[CloudEvent]:
    """About ``size`` published events drawn at random, each service in proportion to
    ``counts`` (its outbox rows): events as they went on the wire, sizes as in the run."""
    everything = sum(counts.values()) or 1
    events: list[CloudEvent] = []
    for name, url in urls.items():
        wanted = round(size * counts.get(name, 0) / everything)
        if not wanted:
            continue
        rows = await query(
            url,
            "SELECT event_id, ce_type, ce_source, ce_subject, ce_time, "
            "ce_dataschema, traceparent, tracestate, data FROM outbox "
            "ORDER BY random() LIMIT :n",
            n=wanted,
        )
        events += [
            CloudEvent(
                id=r[0],
                type=r[1],
                source=r[2],
                subject=r[3],
                time=r[4],
                dataschema=r[5],
                traceparent=r[6],
                tracestate=r[7],
                data=json.loads(r[8]),
            )
            for r in rows
        ]
    return events


async def event_bytes(urls: Mapping[str, str]) -> dict[str, float]:
    """Count and mean size (value + CloudEvents headers) of every outbox event."""
    count, total = 0, 0.0
    for url in urls.values():
        row = (
            await query(
                url,
                "SELECT count(*), coalesce(sum(length(data) + length(event_id) "
                "+ length(ce_type) + length(ce_source) + length(ce_subject) "
                "+ length(ce_time) + coalesce(length(ce_dataschema), 0) "
                "+ coalesce(length(traceparent), 0)), 0) FROM outbox",
            )
        )[0]
        count += int(row[0])
        total += float(row[1])
    return {"events": count, "mean_bytes": round(total / count, 1) if count else 0.0}
