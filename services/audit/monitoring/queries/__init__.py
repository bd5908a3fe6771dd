"""The monitoring views, read from the read models the projections keep (never from Kafka).

Public read functions (the API and the inspector dashboard call these; signatures are
stable). Each takes an open session (no transaction needed), and:

- ``year``: the review cycle / plan year the figures are for;
- ``commune_code``: one commune, or ``None`` for every commune the caller may read;
- ``communes``: the caller's readable communes (``shared.auth.readable_communes``), ``None``
  meaning all — rows outside it are never counted;
- ``as_of``: the day time-based indicators are measured on (exclusion, excess, backlog);
  ``None`` gives :func:`default_as_of` (31 December of ``year``, or the audit clock's
  today — ``policy.today()`` — if that is earlier);
- ``policy``: the service standards (:class:`services.audit.domain.AuditPolicy`); pass
  ``audit_policy(runtime.settings)`` from services.audit.app; ``None`` gives the defaults.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.domain import AuditPolicy
from services.audit.models import ViewFinding
from services.audit.view_models import (
    CommuneRow,
    Democracy,
    Fairness,
    FindingPage,
    FindingStatus,
    HouseholdPage,
    HouseholdSummary,
    Overview,
    Targets,
    Timeliness,
)
from services.audit.view_queries import (
    build_commune_rows,
    build_democracy,
    build_fairness,
    build_household_page,
    build_household_summary,
    build_overview,
    build_targets,
    build_timeliness,
    find_findings,
    open_findings_by,
)

Communes = frozenset[str] | None


def _resolved(
    year: int, as_of: date | None, policy: AuditPolicy | None
) -> tuple[date, AuditPolicy]:
    policy = policy or AuditPolicy()
    return as_of or default_as_of(year, policy), policy


def default_as_of(year: int, policy: AuditPolicy | None = None) -> date:
    """31 December of ``year``, or the audit clock's today when that is earlier."""
    return min((policy or AuditPolicy()).today(), date(year, 12, 31))


async def overview(
    session: AsyncSession,
    *,
    year: int,
    commune_code: str | None = None,
    communes: Communes = None,
    as_of: date | None = None,
    policy: AuditPolicy | None = None,
) -> Overview:
    """The four views' totals, open findings by kind and one row per commune."""
    return await build_overview(
        session, year, commune_code, communes, *_resolved(year, as_of, policy)
    )


async def democracy(
    session: AsyncSession,
    *,
    year: int,
    commune_code: str | None = None,
    communes: Communes = None,
    as_of: date | None = None,
    policy: AuditPolicy | None = None,
) -> Democracy:
    """Meetings, postings, complaints and voluntary escapes of the year's review cycle."""
    return await build_democracy(
        session, year, commune_code, communes, *_resolved(year, as_of, policy)
    )


async def fairness(
    session: AsyncSession,
    *,
    year: int,
    commune_code: str | None = None,
    communes: Communes = None,
    as_of: date | None = None,
    policy: AuditPolicy | None = None,
) -> Fairness:
    """Exclusion, excess, duplicates (on ``as_of``), misclassification (assessments of the
    year) and the distribution of benefits against the eligible population."""
    return await build_fairness(
        session, year, commune_code, communes, *_resolved(year, as_of, policy)
    )


async def timeliness(
    session: AsyncSession,
    *,
    year: int,
    commune_code: str | None = None,
    communes: Communes = None,
    as_of: date | None = None,
    policy: AuditPolicy | None = None,
) -> Timeliness:
    """Lags (median, p90, on-time rate) of the cases started in ``year``; open backlog by age
    on ``as_of``."""
    return await build_timeliness(
        session, year, commune_code, communes, *_resolved(year, as_of, policy)
    )


async def targets(
    session: AsyncSession,
    *,
    year: int,
    commune_code: str | None = None,
    communes: Communes = None,
    as_of: date | None = None,
    policy: AuditPolicy | None = None,
) -> Targets:
    """Plan against actual for ``year``: placements, trainees, poor and near-poor rates."""
    return await build_targets(
        session, year, commune_code, communes, *_resolved(year, as_of, policy)
    )


async def findings(
    session: AsyncSession,
    *,
    kind: str | None = None,
    commune_code: str | None = None,
    communes: Communes = None,
    status: FindingStatus | None = "open",
    after: str | None = None,
    limit: int = 100,
) -> FindingPage:
    """Findings ordered by key; ``status=None`` gives open and cleared; ``after`` is the
    ``next_after`` of the previous page."""
    return await find_findings(session, kind, commune_code, communes, status, after, limit)


async def commune_rows(
    session: AsyncSession,
    *,
    year: int,
    communes: Communes = None,
    as_of: date | None = None,
    policy: AuditPolicy | None = None,
) -> list[CommuneRow]:
    """One row per commune with any event (drill-down from the district), by commune code."""
    return await build_commune_rows(session, year, communes, *_resolved(year, as_of, policy))


async def commune_households(
    session: AsyncSession,
    *,
    commune_code: str,
    after: str | None = None,
    limit: int = 100,
) -> HouseholdPage:
    """The households of a commune (by household id), for drill-down to one household."""
    return await build_household_page(session, commune_code, after, limit)


async def household_summary(
    session: AsyncSession,
    household_id: str,
    *,
    as_of: date | None = None,
    policy: AuditPolicy | None = None,
) -> HouseholdSummary | None:
    """What the audit knows of one household (members by id, class history, assessments
    re-checked, cases, findings); ``None`` if no event named it. The caller checks that
    the principal may read ``summary.commune_code``."""
    policy = policy or AuditPolicy()
    return await build_household_summary(session, household_id, as_of or policy.today(), policy)


async def open_findings_count(session: AsyncSession, *, communes: Communes = None) -> int:
    """How many findings are open (in the readable communes)."""
    counts = await open_findings_by(session, communes, ViewFinding.kind)
    return sum(counts.values())
