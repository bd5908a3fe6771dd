"""The monitoring's write paths, each in a transaction of its own: evaluating every finding
on a day (:func:`evaluate`), and rebuilding every read model from the ledger alone
(:func:`rebuild`).

Rebuilding: in ONE transaction, holding the ledger's append lock (the consumer waits): empty the
``view_*`` tables, replay every leaf in ledger order through the projections (no finding
is evaluated or published during the replay: findings come back from the audit's own
``finding_*`` events on the ledger), then evaluate every subject once on ``as_of``. A
finding whose latest event is still on its way back through the broker is kept as it was
(its sequence is ahead of the ledger's), so the final evaluation does not raise it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.ledger.models import LedgerLeaf
from services.audit.ledger.store import LedgerEntry, LedgerStore
from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.findings import FindingBook, evaluate_in
from services.audit.monitoring.models import VIEW_TABLES, ViewFinding
from services.audit.monitoring.projections import apply_entry
from services.audit.monitoring.schemas import RebuildReport

_CHUNK = 500
_FINDING_COLUMNS = tuple(c.name for c in ViewFinding.__table__.columns)


def _entry(row: LedgerLeaf) -> LedgerEntry:
    return LedgerEntry(
        leaf_index=row.leaf_index,
        event_id=row.event_id,
        ce_type=row.ce_type,
        ce_subject=row.ce_subject,
        occurred_at=row.occurred_at,
        commune_code=row.commune_code,
        leaf_hash=row.leaf_hash,
        event_bytes=row.event_bytes,
    )


async def replay_ledger(session: AsyncSession) -> int:
    """Fold every ledger entry, in order, into the (empty) read models; how many there were."""
    replayed, last = 0, -1
    while True:
        rows = list(
            (
                await session.execute(
                    select(LedgerLeaf)
                    .where(LedgerLeaf.leaf_index > last)
                    .order_by(LedgerLeaf.leaf_index)
                    .limit(_CHUNK)
                )
            ).scalars()
        )
        for row in rows:
            await apply_entry(session, _entry(row))
        replayed += len(rows)
        await session.flush()
        session.expunge_all()  # keep memory flat on a long ledger
        if len(rows) < _CHUNK:
            return replayed
        last = rows[-1].leaf_index


async def _in_flight(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(select(ViewFinding))).scalars()
    return [{name: getattr(r, name) for name in _FINDING_COLUMNS} for r in rows]


async def _restore_in_flight(session: AsyncSession, before: list[dict[str, Any]]) -> None:
    for values in before:
        row = await session.get(ViewFinding, values["key"])
        if row is None:
            session.add(ViewFinding(**values))
        elif row.sequence < values["sequence"]:
            for name, value in values.items():
                setattr(row, name, value)


async def rebuild_in(session: AsyncSession, *, as_of: date, policy: AuditPolicy) -> RebuildReport:
    """Rebuild inside the caller's transaction (see the module docstring)."""
    await LedgerStore(session)._lock_for_append()  # no entry is appended meanwhile
    before = await _in_flight(session)
    for model in reversed(VIEW_TABLES):
        await session.execute(delete(model))
    replayed = await replay_ledger(session)
    await _restore_in_flight(session, before)
    await session.flush()
    book = await evaluate_in(session, as_of, policy)
    await session.flush()
    counts = {}
    for model in VIEW_TABLES:
        counts[model.__tablename__] = int(
            (await session.execute(select(func.count()).select_from(model))).scalar_one()
        )
    return RebuildReport(
        events_replayed=replayed,
        rows=counts,
        findings_raised=book.raised,
        findings_cleared=book.cleared,
        as_of=as_of,
    )


async def rebuild(
    sessions: Callable[[], AsyncSession], *, as_of: date, policy: AuditPolicy
) -> RebuildReport:
    """Rebuild in a transaction of its own; the report says what was replayed and found."""
    async with sessions() as session, session.begin():
        return await rebuild_in(session, as_of=as_of, policy=policy)


async def evaluate(
    sessions: Callable[[], AsyncSession], *, as_of: date, policy: AuditPolicy
) -> FindingBook:
    """Evaluate every subject on ``as_of`` in a transaction of its own; the book says how
    many findings were raised and cleared."""
    async with sessions() as session, session.begin():
        return await evaluate_in(session, as_of, policy)
