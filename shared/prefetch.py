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
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bulk import scalars_where_in
from shared.db import remembered, transaction_state
from shared.events import CloudEvent

M = TypeVar("M")

_STATE = "ansinh.prefetch"


@dataclass(frozen=True)
class Prefetch:
    """Load the rows of ``model`` (single-column primary key) keyed by ``data[field]``."""

    model: type[Any]
    field: str


async def prefetch(
    session: AsyncSession, wanted: Sequence[Prefetch], events: Sequence[CloudEvent]
) -> None:
    """Load the rows ``wanted`` for ``events`` into ``session`` for its current transaction."""
    if not wanted:
        return
    state = transaction_state(session, _STATE)
    absent: dict[type[Any], set[Any]] = state.setdefault("absent", {})
    kept: list[Any] = state.setdefault("kept", [])  # the identity map holds rows weakly
    for spec in wanted:
        keys = {e.data.get(spec.field) for e in events} - {None}
        if not keys:
            continue
        [column] = inspect(spec.model).primary_key
        rows = await scalars_where_in(
            session, select(spec.model), getattr(spec.model, column.key), keys
        )
        kept += rows
        found = {getattr(row, column.key) for row in rows}
        absent.setdefault(spec.model, set()).update(keys - found)


async def lookup(session: AsyncSession, model: type[M], key: Any) -> M | None:
    """``session.get(model, key)``, without a query when the batch's prefetch answers it."""
    state = remembered(session, _STATE)
    absent = state["absent"].get(model) if state else None
    if absent is not None and key in absent:
        absent.discard(key)  # next time, the session knows (the handler may add it)
        return None
    return await session.get(model, key)
