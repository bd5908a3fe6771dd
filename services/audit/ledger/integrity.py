"""The audit service checks its own store against its last signed tree head.

At start-up (a full pass) and then every ``interval`` seconds, :class:`LedgerIntegrity`
recomputes the Merkle root of the stored leaves up to the latest signed head and of every
head in between (:mod:`shared.ledger.audit`), from the stored bytes. Between full passes it
keeps the verified frontier (a compact range) and reads only the leaves appended since; a
cheap count of the rows below the head's size catches a removed leaf at once, and a full
pass every ``full_every`` seconds re-reads everything (an old leaf altered in place).

While a check fails, :meth:`LedgerIntegrity.failure` says which leaf: readiness answers
503 and consumption pauses (``shared.runtime.HealthCheck``), so new events wait in the
broker instead of being appended to — or dead-lettered by — a store that no longer
matches what was signed; every round then re-checks in full, so repairing the store
clears it.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.ledger.store import LedgerStore
from shared.ledger.audit import BadLeaf, LeafAudit, RootMismatch, first_unproven
from shared.ledger.compact import CompactRange
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.signing import LedgerPublicKey, SignatureInvalid
from shared.observability import get_logger
from shared.runtime import HealthFailure

log = get_logger(__name__)

CHECK = "ledger_integrity"
CHUNK = 5_000


class LedgerIntegrity:
    """A :class:`shared.runtime.HealthCheck`: the store matches the signed heads."""

    name = CHECK
    pauses_consumption = True

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        key: LedgerPublicKey,
        *,
        interval: float,
        full_every: float,
    ) -> None:
        self.sessions = sessions
        self.key = key
        self.interval = interval
        self.full_every = full_every
        #: The verified prefix (the latest verified head's size) and that head.
        self.verified = CompactRange()
        self.head: SignedTreeHead | None = None
        self.bad: BadLeaf | None = None
        self._last_full = 0.0

    def failure(self) -> HealthFailure | None:
        """Why the store does not match its signed heads, or None while it does."""
        if self.bad is None:
            return None
        return HealthFailure(
            check=CHECK,
            detail=f"the audit ledger does not match its signed tree heads: {self.bad}",
            extra={"first_bad_index": self.bad.index},
        )

    async def check(self, *, full: bool = False) -> BadLeaf | None:
        """One round; the first bad leaf found (also kept for :meth:`failure`), else None."""
        full = full or self.bad is not None or time.monotonic() - self._last_full > self.full_every
        async with self.sessions() as session, session.begin():
            bad, verified, head = await self._round(LedgerStore(session), full)
        if full:
            self._last_full = time.monotonic()
        if bad is None:
            self.verified, self.head = verified, head
        elif self.bad != bad:
            log.error("ledger.integrity_failed", first_bad_index=bad.index, reason=bad.reason)
        if bad is None and self.bad is not None:
            log.warning("ledger.integrity_restored", tree_size=verified.size)
        self.bad = bad
        return bad

    async def _round(
        self, store: LedgerStore, full: bool
    ) -> tuple[BadLeaf | None, CompactRange, SignedTreeHead | None]:
        earlier = self.head
        start = CompactRange() if full else self.verified
        head = await store.latest_tree_head()
        if head is None:
            bad = BadLeaf(0, "no signed tree head, yet one was verified") if earlier else None
            return bad, start, None
        if earlier is not None and head.tree_size < earlier.tree_size:
            return self._rolled_back(head, earlier), start, head
        try:
            head.verify(self.key)
        except (SignatureInvalid, ValueError):
            reason = f"the tree head of size {head.tree_size} does not carry the ledger's signature"
            return BadLeaf(head.tree_size - 1, reason), start, head
        if not full and await store.leaves_below(head.tree_size) != head.tree_size:
            return await self._round(store, True)  # a leaf was removed: find which
        return await self._leaves(store, start, head)

    @staticmethod
    def _rolled_back(head: SignedTreeHead, earlier: SignedTreeHead) -> BadLeaf:
        return BadLeaf(
            head.tree_size,
            f"rolled back: tree size {earlier.tree_size} was verified, the latest signed head "
            f"has {head.tree_size}",
        )

    async def _leaves(
        self, store: LedgerStore, start: CompactRange, head: SignedTreeHead
    ) -> tuple[BadLeaf | None, CompactRange, SignedTreeHead]:
        heads = await store.tree_heads_between(start.size, head.tree_size)
        audit = LeafAudit(start, {h.tree_size: h.root_hash for h in [*heads, head]})
        position = start.size
        while position < head.tree_size:
            rows = await store.stored_leaves(position, min(position + CHUNK, head.tree_size))
            for index, leaf_hash, event_bytes in rows:
                bad = audit.feed(index, event_bytes, leaf_hash)
                if isinstance(bad, RootMismatch):
                    roots = {h.tree_size: h.root_hash for h in [*heads, head]}
                    return await _locate(store, bad, roots[bad.end]), start, head
                if bad is not None:
                    return bad, start, head
            if not rows:
                break
            position = rows[-1][0] + 1
            await asyncio.sleep(0)  # a long pass leaves the event loop to requests
        return audit.finish(head.tree_size), audit.range, head

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception as exc:  # database busy or down: readiness says so already
                log.warning("ledger.integrity_check_failed", error=repr(exc))


async def _locate(store: LedgerStore, mismatch: RootMismatch, root: bytes) -> BadLeaf:
    """The first leaf of ``mismatch`` not proven in the signed tree (see first_unproven),
    read in pages of sibling pairs."""
    for page in range(mismatch.start & ~1, mismatch.end, CHUNK):
        rows = await store.stored_leaves(page, min(page + CHUNK, mismatch.end))
        proofs = await store.inclusion_proofs([i for i, _, _ in rows], mismatch.end)
        found = first_unproven(mismatch, [(i, b, proofs[i]) for i, _, b in rows], root)
        if found is not mismatch:
            return found
    return mismatch
