"""The ledger's rows: what an entry, a subtree, a trail index row and a tree head are in
the tables, and the read statements :class:`~services.audit.ledger.store.LedgerStore`
builds once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select

from services.audit.domain import commune_of, occurred_at, trail_ids
from services.audit.ledger.models import LedgerLeaf, LedgerNode, LedgerTrail, LedgerTreeHead
from shared.events import CloudEvent
from shared.ledger import merkle
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.leaf import event_bytes as canonical_bytes
from shared.ledger.leaf import parse_canonical_event
from shared.ledger.merkle import NodeId

#: Nodes read per statement.
FETCH_CHUNK = 400


@dataclass(frozen=True)
class LedgerEntry:
    """One leaf of the ledger: where it is, what it hashes to, and the event's exact bytes."""

    leaf_index: int
    event_id: str
    ce_type: str
    ce_subject: str
    occurred_at: datetime
    commune_code: str | None
    leaf_hash: bytes
    event_bytes: bytes

    @classmethod
    def of(cls, event: CloudEvent, leaf_index: int) -> LedgerEntry:
        """The entry ``event`` makes as leaf ``leaf_index`` (its canonical bytes, hashed)."""
        event_bytes = canonical_bytes(event)
        return cls(
            leaf_index=leaf_index,
            event_id=event.id,
            ce_type=event.type,
            ce_subject=event.subject,
            occurred_at=occurred_at(event.time),
            commune_code=commune_of(event.data),
            leaf_hash=merkle.leaf_hash(event_bytes),
            event_bytes=event_bytes,
        )

    def event(self) -> dict[str, Any]:
        """The recorded event: CloudEvents attributes and ``data``."""
        return parse_canonical_event(self.event_bytes)


@dataclass(frozen=True)
class LeafRows:
    """The rows one append writes: its leaf, the subtrees it completes, its trail index."""

    leaf: dict[str, Any]
    subtrees: list[dict[str, Any]]
    trail: list[dict[str, Any]]

    @classmethod
    def of(
        cls, entry: LedgerEntry, event: CloudEvent, completed: list[tuple[NodeId, bytes]]
    ) -> LeafRows:
        return cls(leaf_row(entry, event), subtree_rows(completed), trail_rows(entry, event))

    def by_table(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        return [(LedgerLeaf, [self.leaf]), (LedgerNode, self.subtrees), (LedgerTrail, self.trail)]


#: Deferred rows go in in this order (trail rows refer to their leaf).
TABLE_ORDER = (LedgerLeaf, LedgerNode, LedgerTrail)


def leaf_row(entry: LedgerEntry, event: CloudEvent) -> dict[str, Any]:
    return {
        "leaf_index": entry.leaf_index,
        "event_id": entry.event_id,
        "ce_type": entry.ce_type,
        "ce_source": event.source,
        "ce_subject": entry.ce_subject,
        "ce_time": event.time,
        "occurred_at": entry.occurred_at,
        "commune_code": entry.commune_code,
        "leaf_hash": entry.leaf_hash,
        "event_bytes": entry.event_bytes,
    }


def subtree_rows(completed: list[tuple[NodeId, bytes]]) -> list[dict[str, Any]]:
    return [{"level": n.level, "node_index": n.index, "hash": h} for n, h in completed]


def trail_rows(entry: LedgerEntry, event: CloudEvent) -> list[dict[str, Any]]:
    return [
        {"subject_id": i, "occurred_at": entry.occurred_at, "leaf_index": entry.leaf_index}
        for i in sorted(trail_ids(event.subject, event.data))
    ]


_TRAIL_QUERIES: dict[tuple[bool, bool, bool], Any] = {}


def trail_query(communes: bool, after: bool, below_size: bool) -> Any:
    """The trail statement with bound parameters, built once per combination of filters
    (and so compiled once: building and compiling it is most of a small trail's cost)."""
    key = (communes, after, below_size)
    query = _TRAIL_QUERIES.get(key)
    if query is None:
        query = (
            select(*(getattr(LedgerLeaf, name) for name in ENTRY_COLUMNS))
            .join(LedgerTrail, LedgerTrail.leaf_index == LedgerLeaf.leaf_index)
            .where(LedgerTrail.subject_id == bindparam("subject_id"))
            .order_by(LedgerTrail.occurred_at, LedgerTrail.leaf_index)
            .limit(bindparam("limit"))
        )
        if communes:
            query = query.where(LedgerLeaf.commune_code.in_(bindparam("communes", expanding=True)))
        if below_size:
            query = query.where(LedgerTrail.leaf_index < bindparam("below_size"))
        if after:
            query = query.where(
                or_(
                    LedgerTrail.occurred_at > bindparam("after_moment"),
                    and_(
                        LedgerTrail.occurred_at == bindparam("after_moment"),
                        LedgerTrail.leaf_index > bindparam("after_index"),
                    ),
                )
            )
        _TRAIL_QUERIES[key] = query
    return query


#: What a LedgerEntry is made of (the trail reads these columns, not whole ORM objects).
ENTRY_COLUMNS = (
    "leaf_index",
    "event_id",
    "ce_type",
    "ce_subject",
    "occurred_at",
    "commune_code",
    "leaf_hash",
    "event_bytes",
)


def nodes_sql(nodes: Sequence[NodeId]) -> str:
    """One statement reading ``nodes``: leaves from ledger_leaves, the others from
    ledger_nodes, one UNION ALL term per level (a primary-key search each on SQLite and
    PostgreSQL, where a row-value IN list would scan). The indexes are integers written
    into the SQL, so the statement needs neither parameters nor a compiled-cache entry."""
    by_level: dict[int, list[str]] = {}
    for node in nodes:
        by_level.setdefault(int(node.level), []).append(str(int(node.index)))
    terms = [  # only integers go into the text (int() above): nothing to inject
        "SELECT 0 AS level, leaf_index AS node_index, leaf_hash AS hash FROM ledger_leaves"  # noqa: S608
        f" WHERE leaf_index IN ({','.join(indexes)})"
        if level == 0
        else "SELECT level, node_index, hash FROM ledger_nodes"  # noqa: S608
        f" WHERE level = {level} AND node_index IN ({','.join(indexes)})"
        for level, indexes in sorted(by_level.items())
    ]
    return " UNION ALL ".join(terms)


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), FETCH_CHUNK):
        yield items[start : start + FETCH_CHUNK]


def entry_of_row(row: Any) -> LedgerEntry:
    """The entry of a LedgerLeaf, or of a row with its ENTRY_COLUMNS."""
    moment = row.occurred_at
    if moment.tzinfo is None:  # SQLite keeps no zone; everything is stored in UTC
        moment = moment.replace(tzinfo=UTC)
    return LedgerEntry(
        leaf_index=row.leaf_index,
        event_id=row.event_id,
        ce_type=row.ce_type,
        ce_subject=row.ce_subject,
        occurred_at=moment,
        commune_code=row.commune_code,
        leaf_hash=bytes(row.leaf_hash),
        event_bytes=bytes(row.event_bytes),
    )


def head_of_row(row: LedgerTreeHead) -> SignedTreeHead:
    return SignedTreeHead(
        tree_size=row.tree_size,
        root_hash=bytes(row.root_hash),
        timestamp_ms=row.timestamp_ms,
        signature=bytes(row.signature),
        key_id=row.key_id,
    )
