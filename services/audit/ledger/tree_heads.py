"""Signing tree heads in the background, while events arrive.

Every ``interval`` seconds the publisher signs a head for the ledger's current size if
the ledger grew since the last head; an idle ledger gets no new heads. With several
replicas each may try; the first head stored for a size stands (tree_size is unique).

The publisher remembers the latest head it signed or read (:attr:`TreeHeadPublisher.latest`),
so a request that needs a signed head (an export) takes it from memory, and signs a new one
only when the events it cites are newer (:meth:`TreeHeadPublisher.covering`).
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.ledger.commands import sign_tree_head
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.signing import LedgerKey
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
        #: The latest head this publisher signed or read (None until the first round).
        self.latest: SignedTreeHead | None = None
        self._signing = asyncio.Lock()

    async def sign_now(self) -> SignedTreeHead | None:
        """Sign a head for the current size if the ledger grew; return the latest head."""
        signed, head = await sign_tree_head(self.sessions, self.key)
        if signed is not None:
            log.info("ledger.tree_head_signed", tree_size=signed.tree_size)
        if head is not None and (self.latest is None or head.tree_size > self.latest.tree_size):
            self.latest = head
        return head

    async def covering(self, size: int) -> SignedTreeHead | None:
        """A signed head of at least ``size`` leaves: the latest one if it is that large,
        else one signed now. One signing at a time: requests that wait for it share it.
        None if the ledger holds fewer leaves than ``size`` (an empty ledger, say)."""
        head = self.latest
        if head is not None and head.tree_size >= size:
            return head
        async with self._signing:
            head = self.latest
            if head is None or head.tree_size < size:
                head = await self.sign_now()
        return head if head is not None and head.tree_size >= size else None

    async def run(self) -> None:
        """Sign heads every ``interval`` seconds until cancelled (at service shutdown)."""
        while True:
            try:
                await self.sign_now()
            except Exception as exc:  # database busy or down: try again next round
                log.warning("ledger.tree_head_failed", error=repr(exc))
            await asyncio.sleep(self.interval)
