"""Signing tree heads in the background, while events arrive.

Every ``interval`` seconds the publisher signs a head for the ledger's current size if
the ledger grew since the last head; an idle ledger gets no new heads. With several
replicas each may try; the first head stored for a size stands (tree_size is unique).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.evidence import SignedTreeHead
from services.audit.ledger_store import LedgerStore
from services.audit.signing import LedgerKey
from shared.observability import get_logger

log = get_logger(__name__)


class TreeHeadPublisher:
    """The background task that keeps signed tree heads no more than ``interval`` behind."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], key: LedgerKey, interval: float
    ) -> None:
        self.sessions = sessions
        self.key = key
        self.interval = interval

    async def sign_now(self) -> SignedTreeHead | None:
        """Sign a head for the current size if the ledger grew; return the latest head."""
        async with self.sessions() as session, session.begin():
            store = LedgerStore(session)
            signed = await store.sign_tree_head(self.key, datetime.now(UTC))
            if signed is not None:
                log.info("ledger.tree_head_signed", tree_size=signed.tree_size)
                return signed
            return await store.latest_tree_head()

    async def run(self) -> None:
        """Sign heads every ``interval`` seconds until cancelled (at service shutdown)."""
        while True:
            try:
                await self.sign_now()
            except Exception as exc:  # database busy or down: try again next round
                log.warning("ledger.tree_head_failed", error=repr(exc))
            await asyncio.sleep(self.interval)
