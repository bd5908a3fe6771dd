"""A breach: what a detector found, with its evidence, under the key of its finding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Breach:
    """A rule broken by one subject: the finding to raise, with the events that show it."""

    kind: str
    subject_id: str
    commune_code: str | None
    summary: str
    evidence: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject_id}"


#: finding key → its breach, or None where the subject was checked and is in order.
Verdicts = dict[str, Breach | None]
#: Subject ids to judge; None: every subject in the read models.
Ids = set[str] | None


def finding_key(kind: str, subject_id: str) -> str:
    """The key of a finding: ``kind:subject_id`` (one finding per key, ever)."""
    return f"{kind}:{subject_id}"


async def rows_of(session: AsyncSession, model: Any, column: Any, ids: Ids) -> list[Any]:
    """The rows of ``model`` whose ``column`` is one of ``ids`` (all of them for None)."""
    query = select(model)
    if ids is not None:
        query = query.where(column.in_(sorted(ids)))
    return list((await session.execute(query)).scalars())
