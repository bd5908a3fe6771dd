"""Tampering with the audit ledger as its database owner (or an attacker with the owner's
access) would: the append-only triggers disabled first, then rows changed, removed or
rolled back; and the exact rows put back afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from services.audit.ledger.models import LedgerLeaf, LedgerNode, LedgerTrail, LedgerTreeHead

LEAVES: Table = LedgerLeaf.__table__  # type: ignore[assignment]
NODES: Table = LedgerNode.__table__  # type: ignore[assignment]
TRAIL: Table = LedgerTrail.__table__  # type: ignore[assignment]
HEADS: Table = LedgerTreeHead.__table__  # type: ignore[assignment]
#: Insertion order (the trail refers to leaves).
TABLES = (LEAVES, NODES, TRAIL, HEADS)


class Ledger:
    """The ledger tables through an owner's connection, guards off."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.db = connection

    async def snapshot(self) -> dict[Table, list[dict[str, Any]]]:
        return {t: [dict(r._mapping) for r in await self.db.execute(select(t))] for t in TABLES}

    async def restore(self, rows: dict[Table, list[dict[str, Any]]]) -> None:
        for table in reversed(TABLES):
            await self.db.execute(delete(table))
        for table in TABLES:
            if rows[table]:
                await self.db.execute(insert(table), rows[table])

    async def alter_byte(self, index: int) -> None:
        stored = (
            await self.db.execute(select(LEAVES.c.event_bytes).where(LEAVES.c.leaf_index == index))
        ).scalar_one()
        changed = bytearray(stored)
        position = bytes(stored).index(b'"type"')  # an ASCII letter: still UTF-8 JSON after
        changed[position + 2] ^= 0x01
        await self.db.execute(
            update(LEAVES).where(LEAVES.c.leaf_index == index).values(event_bytes=bytes(changed))
        )

    async def delete_leaf(self, index: int) -> None:
        await self.db.execute(delete(TRAIL).where(TRAIL.c.leaf_index == index))
        await self.db.execute(delete(LEAVES).where(LEAVES.c.leaf_index == index))

    async def swap(self, first: int, second: int) -> None:
        """Leaves ``first`` and ``second`` exchange their bytes and their stored hashes."""
        columns = (LEAVES.c.event_bytes, LEAVES.c.leaf_hash)
        rows = {}
        for index in (first, second):
            query = select(*columns).where(LEAVES.c.leaf_index == index)
            rows[index] = (await self.db.execute(query)).one()
        for index, other in ((first, second), (second, first)):
            await self.db.execute(
                update(LEAVES)
                .where(LEAVES.c.leaf_index == index)
                .values(event_bytes=rows[other][0], leaf_hash=rows[other][1])
            )

    async def roll_back(self, size: int) -> None:
        """The ledger as it was at ``size`` leaves: later leaves, subtrees and heads gone."""
        await self.db.execute(delete(TRAIL).where(TRAIL.c.leaf_index >= size))
        await self.db.execute(delete(LEAVES).where(LEAVES.c.leaf_index >= size))
        nodes = (await self.db.execute(select(NODES.c.level, NODES.c.node_index))).all()
        for level, index in nodes:
            if (index + 1) << level > size:  # the subtree reaches past the rolled-back size
                await self.db.execute(
                    delete(NODES).where(NODES.c.level == level, NODES.c.node_index == index)
                )
        await self.db.execute(delete(HEADS).where(HEADS.c.tree_size > size))


@asynccontextmanager
async def tampering(database_url: str) -> AsyncIterator[Ledger]:
    """One transaction on the audit database, the ledger's append-only triggers disabled."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await _disable_guards(connection)
            yield Ledger(connection)
    finally:
        await engine.dispose()


async def _disable_guards(connection: AsyncConnection) -> None:
    postgresql = connection.dialect.name == "postgresql"
    for table in TABLES:
        if postgresql:
            await connection.execute(text(f"ALTER TABLE {table.name} DISABLE TRIGGER USER"))
        else:
            for operation in ("update", "delete"):
                await connection.execute(
                    text(f"DROP TRIGGER IF EXISTS {table.name}_no_{operation}")
                )
