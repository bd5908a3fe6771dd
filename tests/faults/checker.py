"""The checker: what each service applied, counted against the origin, like a Jepsen checker.

The origin is the households service: the registrations the API acknowledged (201) and the
events its outbox holds. Each consumer must have applied, exactly once, every origin event
of a type it subscribes to. "Applied" is read from the consumer's own database: its inbox
rows (one per applied event and consumer) and, for the audit service, the ledger leaves.
An event with more than one inbox row under any of the service's consumer names, or more
than one ledger leaf, counts as duplicated; an expected event with neither counts as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shared.consumer import ANY_EVENT_TYPE
from shared.events import topic_for

ORIGIN = "households"
REGISTERED = "vn.ansinh.households.household_registered.v1"


@dataclass(frozen=True)
class Tally:
    """One row of the checker's table."""

    service: str
    origin: int
    applied: int
    lost: int
    duplicated: int

    @property
    def verdict(self) -> str:
        return "valid" if self.lost == 0 and self.duplicated == 0 else "INVALID"


@dataclass(frozen=True)
class Store:
    """Where one service keeps its rows: a SQLite file or a PostgreSQL DSN."""

    sqlite: Path | None = None
    postgres: str | None = None

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        if self.postgres is not None:
            return asyncio.run(_postgres_rows(self.postgres, sql))
        assert self.sqlite is not None
        with contextlib.closing(sqlite3.connect(f"file:{self.sqlite}?mode=ro", uri=True)) as db:
            return [tuple(row) for row in db.execute(sql)]


async def _postgres_rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return [tuple(record) for record in await connection.fetch(sql)]
    finally:
        await connection.close()


def subscribed_types(service: str) -> tuple[list[str], set[str]]:
    """The consumer names of ``service`` reading the households topic, and the types they take.

    A ``*`` subscription (the audit ledger) takes every type.
    """
    definition = importlib.import_module(f"services.{service}.app").DEFINITION
    groups, types = [], set()
    for spec in definition.consumers:
        if topic_for(ORIGIN) in spec.topics:
            groups.append(f"{definition.name}.{spec.name}")
            types |= {on.ce_type for on in spec.handlers}
    return groups, types


def origin_events(store: Store) -> list[tuple[str, str, str]]:
    """(event id, type, subject) of every event in the households outbox."""
    rows = store.rows("SELECT event_id, ce_type, ce_subject FROM outbox")
    return [(str(i), str(t), str(s)) for i, t, s in rows]


def origin_tally(acknowledged: Iterable[str], events: Sequence[tuple[str, str, str]]) -> Tally:
    """Registrations the API acknowledged against those its outbox holds (once each)."""
    acked = set(acknowledged)
    registered = Counter(subject for _, kind, subject in events if kind == REGISTERED)
    held = acked & set(registered)
    duplicated = sum(1 for subject in held if registered[subject] > 1)
    return Tally(f"{ORIGIN} (API)", len(acked), len(held), len(acked - held), duplicated)


def consumer_tally(
    service: str, store: Store, events: Sequence[tuple[str, str, str]]
) -> Tally | None:
    """What ``service`` applied of the origin events it subscribes to; None if it takes none."""
    groups, types = subscribed_types(service)
    if not groups:
        return None
    expected = {i for i, kind, _ in events if ANY_EVENT_TYPE in types or kind in types}
    if not expected:
        return None
    inbox = Counter(
        str(event_id)
        for consumer, event_id in store.rows("SELECT consumer, event_id FROM inbox")
        if consumer in groups
    )
    if service == "audit":
        inbox += Counter(str(row[0]) for row in store.rows("SELECT event_id FROM ledger_leaves"))
        seen_once = 2  # one inbox row and one ledger leaf
    else:
        seen_once = 1
    applied = {i for i in expected if inbox[i] >= seen_once}
    duplicated = sum(1 for i in expected if inbox[i] > seen_once)
    return Tally(service, len(expected), len(applied), len(expected - applied), duplicated)


def table(tallies: Sequence[Tally]) -> str:
    """The tally as the checker prints it."""
    header = f"{'service':<18}{'origin':>8}{'applied':>9}{'lost':>6}{'duplicated':>12}  verdict"
    lines = [header, "-" * len(header)]
    for t in tallies:
        lines.append(
            f"{t.service:<18}{t.origin:>8}{t.applied:>9}{t.lost:>6}{t.duplicated:>12}  {t.verdict}"
        )
    overall = "valid" if all(t.verdict == "valid" for t in tallies) else "INVALID"
    lines.append(f"{'':<18}{'':>8}{'':>9}{'':>6}{'':>12}  => {overall}")
    return "\n".join(lines)
