"""A large audit ledger, built fast: N events written straight into the audit tables.

Appending through the consumer is what stage 1 and 2 measure; for a ledger of a million
leaves, stages 3 and 4 need it in minutes. The rows are exactly what
:meth:`services.audit.ledger.store.LedgerStore.append` writes (same canonical bytes, leaf
hashes, completed subtrees, trail index rows, from the same pure functions), inserted in
batches in a database migrated to head by the service's own migrations.

Events: :data:`EVENTS_PER_HOUSEHOLD` per household, in the shapes households, insurance
and employment publish; household 0 (:func:`household_id`) is the one whose trail the API
stage asks for. The tree's nodes are also kept in memory (:class:`TreeLevels`) for the
pure-function timings of stage 4.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from services.audit.domain import commune_of, occurred_at, trail_ids
from services.audit.ledger.models import LedgerLeaf, LedgerNode, LedgerTrail
from shared.events import CloudEvent, dataschema_for, rfc3339
from shared.ledger import merkle as ledger
from shared.ledger.leaf import canonical_event_bytes, leaf_attributes
from shared.ledger.merkle import NodeId
from shared.migrations import upgrade_to_head

EVENTS_PER_HOUSEHOLD = 10
BATCH = 5_000
START = datetime(2019, 1, 2, tzinfo=UTC)
COMMUNES = ("30502", "30505", "30508", "30511", "30514", "30517", "30520")
_KINDS = (
    ("households", "household_registered"),
    *[("households", "person_added")] * 4,
    ("households", "household_assessed"),
    ("households", "household_reclassified"),
    ("insurance", "card_issued"),
    ("insurance", "card_issued"),
    ("employment", "worker_registered"),
)


def _uid(kind: int, number: int) -> str:
    # UUID-shaped and unique per kind; formatting, not uuid.UUID, because a million of
    # each are made.
    return f"{kind:08x}-0000-4000-8000-{number:012x}"


def household_id(number: int) -> str:
    return _uid(1, number)


def _data(kind: str, number: int, i: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "household_id": household_id(number),
        "commune_code": COMMUNES[number % len(COMMUNES)],
    }
    if kind == "household_registered":
        data |= {
            "village": f"Ấp {number % 40 + 1}",
            "area": "rural",
            "member_count": 4,
            "registered_on": "2019-01-15",
            "head_pseudonym": f"{i:064x}",
        }
    elif kind == "person_added":
        data |= {
            "person_id": _uid(2, i),
            "citizen_pseudonym": f"{i:064x}",
            "sex": "female",
            "birth_year": 1980,
            "relation_to_head": "child",
            "ethnic_minority": number % 3 == 0,
        }
    elif kind in ("household_assessed", "household_reclassified"):
        data |= {
            "standard_code": "D59/2015",
            "assessed_on": "2019-10-01",
            "income_per_person_month": 650_000 + number % 900_000,
            "deprived_indicators": ["health_insurance", "housing_area"],
            "from_class": "unclassified",
            "to_class": "poor",
            "reasons": ["income at or below the rural poverty line"],
        }
    else:
        data |= {
            "card_id": _uid(3, i),
            "person_id": _uid(2, i - 5),
            "valid_from": "2020-01-01",
            "valid_to": "2020-12-31",
            "worker_id": _uid(4, i),
        }
    return data


def events(count: int, start: int = 0) -> Iterator[CloudEvent]:
    """``count`` events from number ``start`` on, household by household, 6 s apart."""
    for i in range(start, start + count):
        number, position = divmod(i, EVENTS_PER_HOUSEHOLD)
        service, name = _KINDS[position]
        ce_type = f"vn.ansinh.{service}.{name}.v1"
        yield CloudEvent(
            id=_uid(5, i),
            source=f"/ansinh/{service}",
            type=ce_type,
            subject=household_id(number),
            time=rfc3339(START + timedelta(seconds=6 * i)),
            data=_data(name, number, i),
            dataschema=dataschema_for(ce_type),
        )


class TreeLevels(Mapping[NodeId, bytes]):
    """Every complete subtree's hash, one ``bytearray`` of 32-byte hashes per level."""

    def __init__(self) -> None:
        self.levels: list[bytearray] = []

    def add(self, node: NodeId, digest: bytes) -> None:
        while len(self.levels) <= node.level:
            self.levels.append(bytearray())
        assert len(self.levels[node.level]) == node.index * 32  # complete subtrees in order
        self.levels[node.level] += digest

    def __getitem__(self, node: NodeId) -> bytes:
        level = self.levels[node.level] if node.level < len(self.levels) else b""
        start = node.index * 32
        if start + 32 > len(level):
            raise KeyError(node)
        return bytes(level[start : start + 32])

    def __iter__(self) -> Iterator[NodeId]:
        for level, hashes in enumerate(self.levels):
            for index in range(len(hashes) // 32):
                yield NodeId(level, index)

    def __len__(self) -> int:
        return sum(len(h) // 32 for h in self.levels)


@dataclass
class _Rows:
    leaves: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    trail: list[dict[str, Any]]


def _rows(index: int, event: CloudEvent, tree: TreeLevels) -> _Rows:
    event_bytes = canonical_event_bytes(leaf_attributes(event), event.data)
    leaf = ledger.leaf_hash(event_bytes)
    siblings = {n: tree[n] for n in ledger.nodes_completed_by(index)}
    completed = ledger.completed_nodes(index, leaf, siblings)
    tree.add(NodeId(0, index), leaf)
    for node, digest in completed:
        tree.add(node, digest)
    moment = occurred_at(event.time)
    return _Rows(
        [
            {
                "leaf_index": index,
                "event_id": event.id,
                "ce_type": event.type,
                "ce_source": event.source,
                "ce_subject": event.subject,
                "ce_time": event.time,
                "occurred_at": moment,
                "commune_code": commune_of(event.data),
                "leaf_hash": leaf,
                "event_bytes": event_bytes,
            }
        ],
        [{"level": n.level, "node_index": n.index, "hash": h} for n, h in completed],
        [
            {"subject_id": s, "occurred_at": moment, "leaf_index": index}
            for s in sorted(trail_ids(event.subject, event.data))
        ],
    )


async def build_ledger(url: str, count: int) -> TreeLevels:
    """Migrate the audit database at ``url`` and fill its ledger with ``count`` events."""
    await upgrade_to_head("audit", url)
    engine = create_async_engine(url)
    tree = TreeLevels()
    batch = _Rows([], [], [])
    try:
        for index, event in enumerate(events(count)):
            rows = _rows(index, event, tree)
            batch.leaves += rows.leaves
            batch.nodes += rows.nodes
            batch.trail += rows.trail
            if len(batch.leaves) >= BATCH or index == count - 1:
                async with engine.begin() as conn:
                    await conn.execute(insert(LedgerLeaf), batch.leaves)
                    if batch.nodes:
                        await conn.execute(insert(LedgerNode), batch.nodes)
                    await conn.execute(insert(LedgerTrail), batch.trail)
                batch = _Rows([], [], [])
    finally:
        await engine.dispose()
    return tree


_BUILT: dict[tuple[str, int], TreeLevels] = {}


async def ledger_database(url: str, count: int) -> tuple[TreeLevels, float]:
    """The ledger of ``count`` events at ``url``, built once per run; its tree and the
    seconds building it took (0 when it was already there)."""
    key = (url, count)
    if key in _BUILT:
        return _BUILT[key], 0.0
    started = time.monotonic()
    _BUILT[key] = await build_ledger(url, count)
    return _BUILT[key], round(time.monotonic() - started, 1)
