"""What every projection works with: the entry being folded in, and the read-model rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.ledger.store import LedgerEntry
from services.audit.models import Base
from services.audit.monitoring.domain.subjects import Touched
from shared.prefetch import lookup

M = TypeVar("M", bound=Base)


@dataclass(frozen=True)
class Projected:
    """One ledger entry being folded in, in its session; ``touched`` collects its subjects."""

    session: AsyncSession
    entry: LedgerEntry
    touched: Touched

    @property
    def event_id(self) -> str:
        return self.entry.event_id


async def row_for(session: AsyncSession, model: type[M], pk: Any, **defaults: Any) -> M:
    """The row with primary key ``pk``, or a new one with ``defaults`` (added)."""
    row = await lookup(session, model, pk)
    if row is None:
        row = model(**defaults)
        session.add(row)
    return row


def with_event(ids: list[str] | None, event_id: str) -> list[str]:
    """``ids`` and then ``event_id``: the evidence of a row, one event longer."""
    return [*(ids or []), event_id]  # a new list: JSON columns change by assignment


Apply = Callable[[Projected, Any], Awaitable[None]]
