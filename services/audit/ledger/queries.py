"""Reads of the ledger as the API gives them: trails, tree heads, proofs, export bundles.

Each takes the caller's principal and authorises it: inspectors, partners and admins read
every event; operators read events of their own communes only (an event whose data names
no commune is not shown to them). Tree heads and proofs carry hashes only, so any
authenticated caller may read them. Nothing here writes to the ledger, except that an
export may have a tree head signed (through the publisher, in its own transaction).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.ledger.schemas import (
    ConsistencyProofOut,
    InclusionProofOut,
    TrailEntryOut,
    TrailPage,
    TreeHeadOut,
    TreeHeadPage,
)
from services.audit.ledger.store import LedgerEntry, LedgerStore
from shared.auth import Principal, authorize_read, readable_communes
from shared.ledger import merkle
from shared.ledger.evidence import ExportedLeaf, SignedTreeHead, build_bundle
from shared.ledger.note import Checkpoint, NoteSignature, SignedNote, sign_note
from shared.ledger.signing import LedgerKey
from shared.problems import NotFound, RuleViolation

SERVICE = "audit"
DEFAULT_EXPORT_MAX_EVENTS = 10_000
MAX_ENTRIES_PAGE = 10_000


class SignedHeads(Protocol):
    """Where an export takes its tree head (``TreeHeadPublisher``)."""

    @property
    def latest(self) -> SignedTreeHead | None:
        """The latest head signed or read, without a query."""

    async def covering(self, size: int) -> SignedTreeHead | None:
        """A signed head of at least ``size`` leaves, signed now if need be."""


def _scope(principal: Principal) -> frozenset[str] | None:
    """The communes whose events the caller may see; None means all."""
    authorize_read(principal, SERVICE, None)
    return readable_communes(principal)


def _head_out(head: SignedTreeHead | None) -> TreeHeadOut | None:
    return TreeHeadOut(**head.as_json()) if head is not None else None


def _entry_out(entry: LedgerEntry, include_bytes: bool) -> TrailEntryOut:
    event = entry.event()
    return TrailEntryOut(
        leaf_index=entry.leaf_index,
        event_id=entry.event_id,
        type=event["type"],
        source=event["source"],
        subject=event["subject"],
        time=event["time"],
        commune_code=entry.commune_code,
        leaf_hash=entry.leaf_hash.hex(),
        data=event["data"],
        event_bytes=base64.b64encode(entry.event_bytes).decode() if include_bytes else None,
    )


async def trail_page(
    session: AsyncSession,
    principal: Principal,
    subject_id: str,
    *,
    after: int | None,
    limit: int,
    include_bytes: bool,
) -> TrailPage:
    """A page of the subject's trail the caller may see, from after leaf ``after``."""
    communes = _scope(principal)
    store = LedgerStore(session)
    cursor = None
    if after is not None:
        last = await store.entry(after)
        if last is None:
            raise RuleViolation(f"leaf {after} is not in the ledger", field="query.after")
        cursor = (last.occurred_at, last.leaf_index)
    entries = await store.trail(subject_id, communes=communes, after=cursor, limit=limit)
    return TrailPage(
        subject_id=subject_id,
        items=[_entry_out(e, include_bytes) for e in entries],
        next_after=entries[-1].leaf_index if len(entries) == limit else None,
    )


async def latest_tree_head(session: AsyncSession, principal: Principal) -> TreeHeadOut:
    """The most recent signed tree head (NotFound while none is signed)."""
    authorize_read(principal, SERVICE, None)
    head = await LedgerStore(session).latest_tree_head()
    if head is None:
        raise NotFound("No tree head has been signed yet: the ledger is empty.")
    return TreeHeadOut(**head.as_json())


async def tree_heads(
    session: AsyncSession,
    principal: Principal,
    *,
    size: int | None,
    before: int | None,
    limit: int,
) -> TreeHeadPage:
    """Signed tree heads, newest first, or only the one of tree size ``size``."""
    authorize_read(principal, SERVICE, None)
    store = LedgerStore(session)
    if size is not None:
        head = await store.tree_head(size)
        return TreeHeadPage(items=[TreeHeadOut(**head.as_json())] if head else [], next_before=None)
    heads = await store.tree_heads(before=before, limit=limit)
    return TreeHeadPage(
        items=[TreeHeadOut(**h.as_json()) for h in heads],
        next_before=heads[-1].tree_size if len(heads) == limit else None,
    )


async def _default_size(store: LedgerStore, given: int | None, field: str) -> int:
    if given is not None:
        current = await store.size()
        if given > current:
            raise RuleViolation(f"the ledger holds {current} leaves, not {given}", field=field)
        return given
    head = await store.latest_tree_head()
    if head is None:
        raise NotFound("No tree head has been signed yet: the ledger is empty.")
    return head.tree_size


async def inclusion_proof(
    session: AsyncSession,
    principal: Principal,
    *,
    leaf_index: int | None,
    event_id: str | None,
    tree_size: int | None,
) -> InclusionProofOut:
    """The audit path of one event (exactly one of ``leaf_index``, ``event_id``) to the root
    of ``tree_size`` leaves (None: the latest signed head's size)."""
    authorize_read(principal, SERVICE, None)
    store = LedgerStore(session)
    if (leaf_index is None) == (event_id is None):
        raise RuleViolation("give exactly one of leaf_index and event_id", field="query.leaf_index")
    entry = await (store.entry(leaf_index) if leaf_index is not None else _by_id(store, event_id))
    if entry is None:
        raise NotFound("That event is not in the ledger.")
    size = await _default_size(store, tree_size, "query.tree_size")
    if entry.leaf_index >= size:
        raise RuleViolation(
            f"leaf {entry.leaf_index} is not in the tree of size {size}", field="query.tree_size"
        )
    path = await store.inclusion_proof(entry.leaf_index, size)
    root = merkle.root_from_inclusion_proof(entry.leaf_index, size, entry.leaf_hash, path)
    return InclusionProofOut(
        leaf_index=entry.leaf_index,
        tree_size=size,
        event_id=entry.event_id,
        leaf_hash=entry.leaf_hash.hex(),
        audit_path=[h.hex() for h in path],
        root_hash=root.hex(),
        tree_head=_head_out(await store.tree_head(size)),
    )


async def _by_id(store: LedgerStore, event_id: str | None) -> LedgerEntry | None:
    return await store.entry_by_event_id(event_id) if event_id else None


async def consistency_proof(
    session: AsyncSession, principal: Principal, *, first: int, second: int | None
) -> ConsistencyProofOut:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``
    (None: the latest signed head's size)."""
    authorize_read(principal, SERVICE, None)
    store = LedgerStore(session)
    second_size = await _default_size(store, second, "query.second")
    if first > second_size:
        raise RuleViolation(
            f"first ({first}) is larger than second ({second_size})", field="query.first"
        )
    return ConsistencyProofOut(
        first=first,
        second=second_size,
        first_root=(await store.root(first)).hex(),
        second_root=(await store.root(second_size)).hex(),
        proof=[h.hex() for h in await store.consistency_proof(first, second_size)],
        first_tree_head=_head_out(await store.tree_head(first)),
        second_tree_head=_head_out(await store.tree_head(second_size)),
    )


async def export_bundle(
    session: AsyncSession,
    principal: Principal,
    *,
    publisher: SignedHeads,
    key: LedgerKey,
    subject: str,
    from_size: int | None,
    max_events: int,
) -> dict[str, Any]:
    """The bundle of the subject's events the caller may see, for the offline verifier
    (format: :mod:`shared.ledger.evidence`), against a head that covers all of them."""
    communes = _scope(principal)
    # Read before this session's first query: the head is committed, so its snapshot holds it.
    latest = publisher.latest
    store = LedgerStore(session)
    entries = await store.trail(subject, communes=communes, limit=max_events + 1)
    if len(entries) > max_events:
        raise RuleViolation(f"more than {max_events} events; export fewer", field="query.subject")
    entries.sort(key=lambda e: e.leaf_index)
    # A head covering every event of the subject appended so far (and from_size): the
    # latest signed one unless these events are newer, then one signed now.
    needed = max(entries[-1].leaf_index + 1 if entries else 1, from_size or 1)
    head = latest
    if head is None or head.tree_size < needed:
        head = await publisher.covering(needed) or publisher.latest
        await session.rollback()  # a new snapshot, that holds the new head's tree
    if head is None:
        raise NotFound("The ledger is empty.")
    entries = [e for e in entries if e.leaf_index < head.tree_size]
    proofs = await store.inclusion_proofs([e.leaf_index for e in entries], head.tree_size)
    earlier, consistency = await _earlier_head(store, from_size, head)
    return build_bundle(
        key=key,
        subject=subject,
        communes=sorted(communes) if communes is not None else None,
        tree_head=head,
        leaves=[ExportedLeaf(e.leaf_index, e.event_bytes, proofs[e.leaf_index]) for e in entries],
        exported_at=datetime.now(UTC),
        earlier_tree_head=earlier,
        consistency_proof=consistency,
    )


async def _earlier_head(
    store: LedgerStore, from_size: int | None, head: SignedTreeHead
) -> tuple[SignedTreeHead | None, list[bytes] | None]:
    if from_size is None:
        return None, None
    earlier = await store.tree_head(from_size)
    if earlier is None:
        raise NotFound(f"No signed tree head of size {from_size}.")
    if from_size > head.tree_size:
        raise RuleViolation("from_size is past the latest tree head", field="query.from_size")
    return earlier, await store.consistency_proof(from_size, head.tree_size)


@dataclass(frozen=True)
class EntriesPage:
    """Stored leaves ``[start, end)`` as kept (index, leaf hash, bytes), proofs if asked."""

    start: int
    end: int
    tree_size: int
    rows: list[tuple[int, bytes, bytes]]
    proofs: dict[int, list[bytes]] | None

    @property
    def next_start(self) -> int | None:
        return self.end if self.end < self.tree_size else None


async def entries(
    session: AsyncSession,
    principal: Principal,
    *,
    start: int,
    end: int | None,
    proofs_at: int | None,
) -> EntriesPage:
    """The stored leaves with an index in ``[start, end)`` (at most MAX_ENTRIES_PAGE), for
    a monitor: exactly the rows the table holds, so a removed leaf is a missing index.
    ``proofs_at``: each leaf's inclusion proof in the tree of that many leaves too."""
    authorize_read(principal, SERVICE, None)
    store = LedgerStore(session)
    size = await store.size()
    stop = min(end if end is not None else start + 1000, start + MAX_ENTRIES_PAGE, size)
    if end is not None and end < start:
        raise RuleViolation("end is before start", field="query.end")
    rows = await store.stored_leaves(start, max(stop, start))
    proofs = None
    if proofs_at is not None:
        if proofs_at > size:
            raise RuleViolation(f"the ledger holds {size} leaves", field="query.proofs_at")
        inside = [i for i, _, _ in rows if i < proofs_at]
        proofs = await store.inclusion_proofs(inside, proofs_at) if inside else {}
    return EntriesPage(start, max(stop, start), size, rows, proofs)


async def checkpoint_note(
    session: AsyncSession, principal: Principal, *, key: LedgerKey, origin: str, size: int | None
) -> SignedNote:
    """The checkpoint of the latest signed head (or of ``size``), signed by the log under
    the name ``origin``, with every cosignature received for it."""
    authorize_read(principal, SERVICE, None)
    store = LedgerStore(session)
    head = await (store.tree_head(size) if size is not None else store.latest_tree_head())
    if head is None:
        raise NotFound("No signed tree head of that size." if size else "No tree head yet.")
    body = Checkpoint(origin, head.tree_size, head.root_hash).body()
    cosignatures = [
        NoteSignature(row.witness_name, row.key_hash, row.signature)
        for row in await store.cosignatures(head.tree_size)
    ]
    return SignedNote(body, (sign_note(body, origin, key), *cosignatures))
