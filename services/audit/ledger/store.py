"""The ledger in the database: append events, read roots, proofs, trails and tree heads.

:class:`LedgerStore` has exactly one write, :meth:`LedgerStore.append`, plus signing a new
tree head; it has no update or delete, and the tables refuse them anyway (models.py).
Appending leaf ``n`` stores its hash and every complete subtree it finishes, so a root or
proof of any size reads O(log n) rows by primary key and nothing is ever rehashed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as orm_events
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.audit.ledger import records
from services.audit.ledger.models import (
    LedgerCosignature,
    LedgerLeaf,
    LedgerNode,
    LedgerTrail,
    LedgerTreeHead,
)
from services.audit.ledger.records import LedgerEntry
from shared.db import insert_or_ignore, remembered, transaction_state
from shared.events import CloudEvent
from shared.ledger import merkle
from shared.ledger.evidence import SignedTreeHead, sign_tree_head
from shared.ledger.merkle import NodeId
from shared.ledger.signing import LedgerKey

__all__ = ["ConflictingEvent", "LedgerEntry", "LedgerStore"]

# Appends are serialised: leaf n+1 needs the subtrees leaf n completed.
_APPEND_LOCK_KEY = zlib.crc32(b"ansinh-audit-ledger-append")
_LEDGER = "ansinh.audit.ledger"
_STORED_LEAVES = text(
    "SELECT leaf_index, leaf_hash, event_bytes FROM ledger_leaves"
    " WHERE leaf_index >= :start AND leaf_index < :end ORDER BY leaf_index"
)
_LEAVES_BELOW = text("SELECT count(*) FROM ledger_leaves WHERE leaf_index < :size")


@dataclass
class _Tip:
    """The ledger's size and frontier (the complete subtrees its root is made of) as the
    current transaction left them: appending needs nothing else.

    It is kept in the transaction's state (``shared.db.transaction_state``): valid while
    the append lock is held, forgotten on any rollback, a savepoint's included.
    """

    size: int
    frontier: dict[NodeId, bytes]
    #: Rows of deferred appends not written yet, by table (see ``LedgerStore.append``).
    deferred: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)

    def advance(self, leaf: bytes, completed: list[tuple[NodeId, bytes]]) -> None:
        known = {**self.frontier, NodeId(0, self.size): leaf, **dict(completed)}
        self.size += 1
        self.frontier = {node: known[node] for node in merkle.root_nodes(self.size)}

    def defer(self, rows: records.LeafRows) -> None:
        for table, batch in rows.by_table():
            self.deferred.setdefault(table, []).extend(batch)

    def take_deferred(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        """The deferred rows by table, leaves first; the tip holds none afterwards."""
        rows, self.deferred = self.deferred, {}
        return [(table, rows[table]) for table in records.TABLE_ORDER if rows.get(table)]


def _current_tip(session: AsyncSession | Session) -> _Tip | None:
    state = remembered(session, _LEDGER)
    return state.get("tip") if state else None


@orm_events.listens_for(Session, "before_commit")
def _write_deferred_before_commit(session: Session) -> None:
    """Deferred appends reach the tables in the transaction that made them, before it
    commits (the event runs inside the async session's greenlet: sync execution works).
    A session whose transaction appended nothing deferred has no tip: nothing to do."""
    tip = _current_tip(session)
    if tip is not None:
        for table, rows in tip.take_deferred():
            session.execute(insert(table), rows)


class ConflictingEvent(Exception):
    """An event id already in the ledger arrived again with different content."""


class LedgerStore:
    """The ledger as seen through one session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- append ----------------------------------------------------------------------

    async def append(
        self, event: CloudEvent, *, deferred: bool = False
    ) -> tuple[LedgerEntry, bool]:
        """Append ``event`` as the next leaf: (its entry, True).

        An event id already recorded with the same bytes gives (that entry, False); with
        different bytes it raises ConflictingEvent (the ledger never holds two versions).
        The first append of a transaction takes the append lock and reads the ledger's
        size and frontier; the following ones of the same transaction continue from them
        in memory (see :class:`_Tip`), so an append costs its inserts and nothing more.

        ``deferred`` appends write nothing yet: their rows go in with one statement per
        table just before the transaction commits (or before this store's next read or
        immediate append). For a caller whose whole transaction fails if anything does
        (no savepoint around the append, which a rollback would not undo in memory): an
        event id already in the ledger then fails the commit instead of being recognised.
        """
        tip = await self._tip()
        if not deferred:
            await self.write_deferred()
        entry = LedgerEntry.of(event, tip.size)
        completed = merkle.completed_nodes(entry.leaf_index, entry.leaf_hash, tip.frontier)
        rows = records.LeafRows.of(entry, event, completed)
        if deferred:
            tip.defer(rows)
        elif await self._insert_leaf(rows.leaf):
            await self._insert_rest(rows)
        else:
            return await self._already_recorded(entry), False
        tip.advance(entry.leaf_hash, completed)
        return entry, True

    async def _already_recorded(self, entry: LedgerEntry) -> LedgerEntry:
        """The leaf already holding ``entry``'s event id, if it holds the same bytes."""
        existing = await self.entry_by_event_id(entry.event_id)
        if existing is None:  # leaf `index` taken: someone appended without the lock
            transaction_state(self.session, _LEDGER).pop("tip", None)
            raise RuntimeError(f"ledger leaf {entry.leaf_index} was written by another writer")
        if existing.event_bytes != entry.event_bytes:
            raise ConflictingEvent(
                f"event {entry.event_id} is already leaf {existing.leaf_index} with other content"
            )
        return existing

    async def write_deferred(self) -> None:
        """Write the rows of deferred appends now (reads of this store do it first)."""
        tip = _current_tip(self.session)
        if tip is not None:
            for table, rows in tip.take_deferred():
                await self.session.execute(insert(table), rows)

    async def _tip(self) -> _Tip:
        """Where the next leaf goes, valid for the session's current transaction."""
        state = transaction_state(self.session, _LEDGER)
        tip: _Tip | None = state.get("tip")
        if tip is None:
            await self._lock_for_append()
            size = await self.size()
            tip = state["tip"] = _Tip(size, await self.nodes(merkle.root_nodes(size)))
        return tip

    async def _insert_leaf(self, row: dict[str, Any]) -> bool:
        """Insert the leaf row; False when its event id is already a leaf."""
        result = await self.session.execute(insert_or_ignore(self.session, LedgerLeaf).values(row))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _insert_rest(self, rows: records.LeafRows) -> None:
        """Insert the subtrees the leaf completes and its trail index rows."""
        if rows.subtrees:
            await self.session.execute(insert(LedgerNode), rows.subtrees)
        await self.session.execute(insert(LedgerTrail), rows.trail)

    async def _lock_for_append(self) -> None:
        # SQLite transactions already hold the write lock (BEGIN IMMEDIATE); PostgreSQL
        # replicas take turns on an advisory lock released at commit.
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY}
            )

    # --- tree ------------------------------------------------------------------------

    async def size(self) -> int:
        """How many leaves the ledger holds."""
        await self.write_deferred()
        last = (await self.session.execute(select(func.max(LedgerLeaf.leaf_index)))).scalar()
        return 0 if last is None else int(last) + 1

    async def nodes(self, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
        """The stored hashes of the complete subtrees ``wanted`` (those that exist)."""
        await self.write_deferred()
        found: dict[NodeId, bytes] = {}
        connection = None
        for chunk in records.chunks(sorted(set(wanted))):
            connection = connection or await self.session.connection()
            rows: Sequence[Any] = (await connection.exec_driver_sql(records.nodes_sql(chunk))).all()
            found.update({NodeId(level, index): bytes(digest) for level, index, digest in rows})
        return found

    async def _tree_nodes(self, wanted: Iterable[NodeId], size: int) -> dict[NodeId, bytes]:
        """:meth:`nodes` of a tree of ``size`` leaves, which must exist: its last leaf is
        read in the same statement, so checking the size costs no query of its own."""
        last = NodeId(0, size - 1)
        found = await self.nodes([*wanted, last]) if size > 0 else {}
        if last not in found:
            await self._require_size(size)  # raises ProofError naming the current size
        return found

    async def _require_size(self, size: int) -> None:
        current = await self.size()
        if size > current:
            raise merkle.ProofError(f"the ledger holds {current} leaves, not {size}")

    async def root(self, size: int) -> bytes:
        """The Merkle Tree Hash of the first ``size`` leaves."""
        if size == 0:
            return merkle.EMPTY_ROOT
        return merkle.tree_root(size, await self._tree_nodes(merkle.root_nodes(size), size))

    async def inclusion_proof(self, leaf_index: int, tree_size: int) -> list[bytes]:
        """The audit path of leaf ``leaf_index`` in the tree of ``tree_size`` leaves."""
        ranges = merkle.inclusion_ranges(leaf_index, tree_size)
        nodes = await self._tree_nodes(merkle.nodes_for(ranges), tree_size)
        return merkle.proof_hashes(ranges, nodes)

    async def inclusion_proofs(
        self, leaf_indexes: Sequence[int], tree_size: int
    ) -> dict[int, list[bytes]]:
        """Audit paths of many leaves against one tree size (one batched read)."""
        ranges = merkle.inclusion_ranges_of(leaf_indexes, tree_size)
        # Paths of leaves of one subject share most of their ranges (all the upper ones):
        # each distinct range is split into stored subtrees and hashed once.
        parts = {r: merkle.range_nodes(*r) for path in ranges.values() for r in path}
        nodes = await self._tree_nodes({n for ns in parts.values() for n in ns}, tree_size)
        hashes = {r: merkle.range_hash(*r, nodes) for r in parts}
        return {i: [hashes[r] for r in path] for i, path in ranges.items()}

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
        ranges = merkle.consistency_ranges(first, second)
        nodes = await self._tree_nodes(merkle.nodes_for(ranges), second)
        return merkle.proof_hashes(ranges, nodes)

    # --- entries and trails ------------------------------------------------------------

    async def entry(self, leaf_index: int) -> LedgerEntry | None:
        await self.write_deferred()
        row = await self.session.get(LedgerLeaf, leaf_index)
        return records.entry_of_row(row) if row is not None else None

    async def entry_by_event_id(self, event_id: str) -> LedgerEntry | None:
        await self.write_deferred()
        row = (
            await self.session.execute(select(LedgerLeaf).where(LedgerLeaf.event_id == event_id))
        ).scalar_one_or_none()
        return records.entry_of_row(row) if row is not None else None

    async def trail(
        self,
        subject_id: str,
        *,
        communes: frozenset[str] | None = None,
        after: tuple[datetime, int] | None = None,
        below_size: int | None = None,
        limit: int = 500,
    ) -> list[LedgerEntry]:
        """Events naming ``subject_id``, in time order (ties in ledger order).

        ``communes`` keeps only events of those communes (None: all events); ``after`` is
        the (occurred_at, leaf_index) of the last entry of the previous page;
        ``below_size`` keeps only leaves a tree of that size holds.
        """
        await self.write_deferred()
        params: dict[str, Any] = {"subject_id": subject_id, "limit": limit}
        if communes is not None:
            params["communes"] = sorted(communes)
        if below_size is not None:
            params["below_size"] = below_size
        if after is not None:
            params["after_moment"], params["after_index"] = after
        query = records.trail_query(communes is not None, after is not None, below_size is not None)
        # Columns, through the session's connection: no ORM objects to build for a read.
        rows = await (await self.session.connection()).execute(query, params)
        return [records.entry_of_row(row) for row in rows]

    # --- what an audit reads ------------------------------------------------------------

    async def stored_leaves(self, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
        """(leaf index, stored leaf hash, stored event bytes) of the rows with an index in
        ``[start, end)``, in index order: exactly what the table holds, gaps included."""
        await self.write_deferred()
        rows = await (await self.session.connection()).execute(
            _STORED_LEAVES, {"start": start, "end": end}
        )
        return [(int(i), bytes(h), bytes(b)) for i, h, b in rows]

    async def leaves_below(self, size: int) -> int:
        """How many rows hold a leaf index below ``size`` (``size`` unless one was removed)."""
        await self.write_deferred()
        result = await (await self.session.connection()).execute(_LEAVES_BELOW, {"size": size})
        return int(result.scalar_one())

    async def tree_heads_between(self, after: int, upto: int) -> list[SignedTreeHead]:
        """Signed heads with ``after < tree_size <= upto``, smallest first."""
        query = (
            select(LedgerTreeHead)
            .where(LedgerTreeHead.tree_size > after, LedgerTreeHead.tree_size <= upto)
            .order_by(LedgerTreeHead.tree_size)
        )
        return [records.head_of_row(row) for row in (await self.session.execute(query)).scalars()]

    async def cosignatures(self, tree_size: int) -> list[LedgerCosignature]:
        """The witnesses' cosignatures received for the head of ``tree_size``, by name."""
        query = (
            select(LedgerCosignature)
            .where(LedgerCosignature.tree_size == tree_size)
            .order_by(LedgerCosignature.witness_name, LedgerCosignature.key_hash)
        )
        return list((await self.session.execute(query)).scalars())

    async def add_cosignature(self, row: dict[str, Any]) -> None:
        """Keep a verified cosignature (one received again changes nothing)."""
        await self.session.execute(insert_or_ignore(self.session, LedgerCosignature).values(row))

    # --- signed tree heads -------------------------------------------------------------

    async def latest_tree_head(self) -> SignedTreeHead | None:
        row = (
            await self.session.execute(
                select(LedgerTreeHead).order_by(LedgerTreeHead.tree_size.desc()).limit(1)
            )
        ).scalar_one_or_none()
        return records.head_of_row(row) if row is not None else None

    async def tree_head(self, tree_size: int) -> SignedTreeHead | None:
        row = await self.session.get(LedgerTreeHead, tree_size)
        return records.head_of_row(row) if row is not None else None

    async def tree_heads(
        self, *, before: int | None = None, limit: int = 100
    ) -> list[SignedTreeHead]:
        """Signed heads, newest first; ``before`` pages on by tree size."""
        query = select(LedgerTreeHead).order_by(LedgerTreeHead.tree_size.desc()).limit(limit)
        if before is not None:
            query = query.where(LedgerTreeHead.tree_size < before)
        return [records.head_of_row(row) for row in (await self.session.execute(query)).scalars()]

    async def sign_tree_head(self, key: LedgerKey, now: datetime) -> SignedTreeHead | None:
        """Sign and store a head for the current size if the ledger grew; None otherwise."""
        latest = await self.latest_tree_head()
        size = await self.size()
        if size == 0 or (latest is not None and latest.tree_size >= size):
            return None
        timestamp_ms = int(now.timestamp() * 1000)
        if latest is not None:  # heads never go back in time, whatever the clock does
            timestamp_ms = max(timestamp_ms, latest.timestamp_ms)
        head = sign_tree_head(key, size, await self.root(size), timestamp_ms)
        row = {
            "tree_size": head.tree_size,
            "root_hash": head.root_hash,
            "timestamp_ms": head.timestamp_ms,
            "signature": head.signature,
            "key_id": head.key_id,
        }
        # Another replica may have signed this size first: its head stands.
        await self.session.execute(insert_or_ignore(self.session, LedgerTreeHead).values(row))
        return await self.tree_head(size)
