"""Rows a consumer batch will look up, read with one query per table before its handlers.

A handler that looks a row up by primary key for each event (``session.get``) costs one
query per event; applied together, a batch can read them all at once. A service declares
``Prefetch(Model, "field")`` on its consumer: before a batch applied together, the rows of
``Model`` whose key is ``data[field]`` of its events are loaded into the session (kept
there for the transaction), and the keys found absent are remembered. Handlers then call
:func:`lookup` instead of ``session.get``: a loaded row costs no query, and neither does
the first lookup of an absent key (a handler typically creates the row then); any later
lookup of that key asks the session as usual, which sees what the handler added.

Outside a batch applied together (a batch applied event by event, an API request)
:func:`lookup` is exactly ``session.get``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import CloudEvent

M = TypeVar("M")

_STATE_KEY = "ansinh.prefetched"
_CHUNK = 500


@dataclass(frozen=True)
class Prefetch:
    """Load the rows of ``model`` (single-column primary key) keyed by ``data[field]``."""

    model: type[Any]
    field: str


@dataclass
class _Prefetched:
    transaction: object
    absent: dict[type[Any], set[Any]] = field(default_factory=dict)
    #: Strong references: the session's identity map holds rows weakly.
    kept: list[Any] = field(default_factory=list)


async def prefetch(
    session: AsyncSession, wanted: Sequence[Prefetch], events: Sequence[CloudEvent]
) -> None:
    """Load the rows ``wanted`` for ``events`` into ``session`` for its current transaction."""
    if not wanted:
        return
    state = _Prefetched(session.sync_session.get_transaction())
    for spec in wanted:
        keys = {e.data.get(spec.field) for e in events} - {None}
        if not keys:
            continue
        [column] = inspect(spec.model).primary_key
        ordered = sorted(keys, key=str)
        found: set[Any] = set()
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            rows = (await session.execute(select(spec.model).where(column.in_(chunk)))).scalars()
            for row in rows:
                state.kept.append(row)
                found.add(getattr(row, column.key))
        state.absent.setdefault(spec.model, set()).update(keys - found)
    session.info[_STATE_KEY] = state


async def lookup(session: AsyncSession, model: type[M], key: Any) -> M | None:
    """``session.get(model, key)``, without a query when the batch's prefetch answers it."""
    state = session.info.get(_STATE_KEY)
    if isinstance(state, _Prefetched):
        if state.transaction is session.sync_session.get_transaction():
            absent = state.absent.get(model)
            if absent is not None and key in absent:
                absent.discard(key)  # next time, the session knows (the handler may add it)
                return None
        else:
            session.info.pop(_STATE_KEY, None)
    return await session.get(model, key)
