"""The ledger's write path: recording a consumed event, signing a tree head.

Recording runs inside the consumer's transaction (the handler's); signing opens its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.ledger.store import LedgerEntry, LedgerStore
from shared.events import CloudEvent
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.signing import LedgerKey


async def append_to_ledger(
    session: AsyncSession, event: CloudEvent, *, batched: bool = False
) -> LedgerEntry | None:
    """Append ``event`` to the ledger in the caller's transaction: its new entry, or None
    when it is already a leaf (a redelivery: nothing further is owed to it).

    ``batched``: the transaction is a whole batch's, with no savepoint per event (see
    ``HandlerContext.batched``), so the leaf's rows go in with the batch's at its commit.
    Raises ConflictingEvent when the id is already a leaf with other bytes.
    """
    entry, appended = await LedgerStore(session).append(event, deferred=batched)
    return entry if appended else None


async def sign_tree_head(
    sessions: async_sessionmaker[AsyncSession], key: LedgerKey
) -> tuple[SignedTreeHead | None, SignedTreeHead | None]:
    """In a transaction of its own: (the head signed now for the current size, or None if
    the ledger did not grow; the latest head after that, None while the ledger is empty)."""
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        signed = await store.sign_tree_head(key, datetime.now(UTC))
        latest = signed or await store.latest_tree_head()
    return signed, latest
