"""The overview (the views' totals, one row per commune) and the findings list, from the
read models; the views themselves are in :mod:`.democracy`, :mod:`.fairness`,
:mod:`.timeliness`, the household drill-down in :mod:`.households`."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.models import (
    ViewFinding,
    ViewPerson,
)
from services.audit.monitoring.queries.democracy import (
    build_democracy,
    review_checks,
)
from services.audit.monitoring.queries.fairness import build_fairness, fairness_row
from services.audit.monitoring.queries.households import (
    finding_out,
)
from services.audit.monitoring.queries.read_models import (
    Scope,
    active_cards,
    group_by,
    load,
    load_class_book,
    load_holders,
    ratio,
    scope_of,
)
from services.audit.monitoring.queries.timeliness import build_targets, build_timeliness
from services.audit.monitoring.schemas import (
    CommuneRow,
    FindingPage,
    Overview,
)

# --- findings --------------------------------------------------------------------------------


async def find_findings(
    session: AsyncSession,
    kind: str | None,
    commune_code: str | None,
    communes: Scope,
    status: str | None,
    after: str | None,
    limit: int,
) -> FindingPage:
    query = select(ViewFinding).order_by(ViewFinding.key).limit(limit + 1)
    if kind is not None:
        query = query.where(ViewFinding.kind == kind)
    scope = scope_of(commune_code, communes)
    if scope is not None:
        query = query.where(ViewFinding.commune_code.in_(sorted(scope)))
    if status is not None:
        query = query.where(ViewFinding.status == status)
    if after is not None:
        query = query.where(ViewFinding.key > after)
    rows = list((await session.execute(query)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return FindingPage(
        items=[finding_out(r) for r in rows], next_after=rows[-1].key if more and rows else None
    )


async def open_findings_by(session: AsyncSession, scope: Scope, column: Any) -> dict[str, int]:
    query = select(column, func.count()).where(ViewFinding.status == "open").group_by(column)
    if scope is not None:
        query = query.where(ViewFinding.commune_code.in_(sorted(scope)))
    return {str(k): int(n) for k, n in (await session.execute(query)).all()}


# --- overview and communes -------------------------------------------------------------------


async def build_commune_rows(
    session: AsyncSession, year: int, communes: Scope, as_of: date, policy: AuditPolicy
) -> list[CommuneRow]:
    book = await load_class_book(session, communes)
    holders = await load_holders(session, communes)
    persons = group_by(await load(session, ViewPerson, communes), lambda p: p.commune_code)
    checks = group_by(
        await review_checks(session, communes, year, policy), lambda c: c.commune_code
    )
    findings = await open_findings_by(session, communes, ViewFinding.commune_code)
    seen = {h.commune_code for h in book.households.values()} | set(persons) | set(checks)
    seen |= {h.commune_code for h in holders.values() if h.commune_code}
    rows = []
    for commune in sorted(seen):
        poor, near = book.rates(commune, as_of)
        fair = fairness_row(commune, holders.values(), [], as_of, policy)
        mine = [h for h in holders.values() if h.commune_code == commune]
        own_checks = checks.get(commune, [])
        rows.append(
            CommuneRow(
                commune_code=commune,
                households=poor.denominator,
                poor_rate=poor,
                near_poor_rate=near,
                persons=len(persons.get(commune, [])),
                entitled_persons=fair.exclusion.denominator,
                active_cards=sum(len(active_cards(h, as_of)) for h in mine),
                exclusion=fair.exclusion,
                recognitions_with_valid_meeting=ratio(
                    sum(c.valid_meeting for c in own_checks), len(own_checks)
                ),
                open_findings=findings.get(commune, 0),
            )
        )
    return rows


async def build_overview(
    session: AsyncSession,
    year: int,
    commune_code: str | None,
    communes: Scope,
    as_of: date,
    policy: AuditPolicy,
) -> Overview:
    scope = scope_of(commune_code, communes)
    args = (session, year, commune_code, communes, as_of, policy)
    by_kind = await open_findings_by(session, scope, ViewFinding.kind)
    return Overview(
        year=year,
        commune_code=commune_code,
        as_of=as_of,
        democracy=(await build_democracy(*args)).total,
        fairness=(await build_fairness(*args)).total,
        timeliness=(await build_timeliness(*args)).total,
        targets=(await build_targets(*args)).total,
        open_findings=sum(by_kind.values()),
        open_findings_by_kind=dict(sorted(by_kind.items())),
        communes=await build_commune_rows(session, year, scope, as_of, policy),
    )
