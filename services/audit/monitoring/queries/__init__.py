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
- ``policy``: the service standards
  (:class:`services.audit.monitoring.domain.standards.AuditPolicy`); pass
  ``policy_of(runtime)`` from services.audit.monitoring.runtime; ``None`` gives the defaults.

The builders behind them: :mod:`.democracy`, :mod:`.fairness`, :mod:`.timeliness`
(timeliness, targets), :mod:`.overview` (overview, communes, findings) and
:mod:`.households` (drill-down), all reading through :mod:`.read_models`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import date
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.models import ViewFinding
from services.audit.monitoring.queries.democracy import build_democracy
from services.audit.monitoring.queries.fairness import build_fairness
from services.audit.monitoring.queries.households import (
    build_household_page,
    build_household_summary,
)
from services.audit.monitoring.queries.overview import (
    build_commune_rows,
    build_overview,
    find_findings,
    open_findings_by,
)
from services.audit.monitoring.queries.timeliness import build_targets, build_timeliness
from services.audit.monitoring.schemas import (
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

Communes = frozenset[str] | None
V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)


def _resolved(
    year: int, as_of: date | None, policy: AuditPolicy | None
) -> tuple[date, AuditPolicy]:
    policy = policy or AuditPolicy()
    return as_of or default_as_of(year, policy), policy


def default_as_of(year: int, policy: AuditPolicy | None = None) -> date:
    """31 December of ``year``, or the audit clock's today when that is earlier."""
    return min((policy or AuditPolicy()).today(), date(year, 12, 31))


class ViewRead(Protocol[V_co]):
    """A view's read function: ``await read(session, year=…, commune_code=…, …)``."""

    async def __call__(
        self,
        session: AsyncSession,
        *,
        year: int,
        commune_code: str | None = None,
        communes: Communes = None,
        as_of: date | None = None,
        policy: AuditPolicy | None = None,
    ) -> V_co: ...


Builder = Callable[[AsyncSession, int, str | None, Communes, date, AuditPolicy], Awaitable[V]]


def _view(name: str, build: Builder[V], doc: str) -> ViewRead[V]:
    """The public read function of one view: ``as_of`` and ``policy`` resolved, then built."""

    async def read(
        session: AsyncSession,
        *,
        year: int,
        commune_code: str | None = None,
        communes: Communes = None,
        as_of: date | None = None,
        policy: AuditPolicy | None = None,
    ) -> V:
        return await build(session, year, commune_code, communes, *_resolved(year, as_of, policy))

    read.__name__ = read.__qualname__ = name
    read.__doc__ = doc
    return read


overview: ViewRead[Overview] = _view(
    "overview",
    build_overview,
    "The four views' totals, open findings by kind and one row per commune.",
)
democracy: ViewRead[Democracy] = _view(
    "democracy",
    build_democracy,
    "Meetings, postings, complaints and voluntary escapes of the year's review cycle.",
)
fairness: ViewRead[Fairness] = _view(
    "fairness",
    build_fairness,
    """Exclusion, excess, duplicates (on ``as_of``), misclassification (assessments of the
    year) and the distribution of benefits against the eligible population.""",
)
timeliness: ViewRead[Timeliness] = _view(
    "timeliness",
    build_timeliness,
    """Lags (median, p90, on-time rate) of the cases started in ``year``; open backlog by age
    on ``as_of``.""",
)
targets: ViewRead[Targets] = _view(
    "targets",
    build_targets,
    "Plan against actual for ``year``: placements, trainees, poor and near-poor rates.",
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


async def finding_pages(
    session: AsyncSession,
    *,
    kind: str | None = None,
    commune_code: str | None = None,
    communes: Communes = None,
    status: FindingStatus | None = "open",
    page_size: int = 500,
) -> AsyncGenerator[FindingPage, None]:
    """Every page of :func:`findings` in key order, ``page_size`` findings each (exports)."""
    after: str | None = None
    while True:
        page = await findings(
            session,
            kind=kind,
            commune_code=commune_code,
            communes=communes,
            status=status,
            after=after,
            limit=page_size,
        )
        yield page
        if page.next_after is None:
            return
        after = page.next_after


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
