"""The overview and the four monitoring views (democracy, fairness, timeliness, targets)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

import services.audit.dashboard.figures as figures
from services.audit.dashboard.access import DashboardRoute, InspectorVisit
from services.audit.dashboard.rendering import Visit, render
from services.audit.dashboard.scope import CommuneQuery, Scope, YearQuery, page_scope
from services.audit.monitoring import queries
from shared.auth import authorize_read
from shared.service import Runtime, SessionDep

SERVICE = "audit"
router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
ViewName = Literal["democracy", "fairness", "timeliness", "targets"]


@router.get("/")
async def overview_page(
    visit: InspectorVisit, session: SessionDep, runtime: Runtime, year: YearQuery = None
) -> Response:
    """The four views at a glance, open findings by kind, and one row per commune."""
    scope = page_scope(visit, runtime, year)
    view = await queries.overview(
        session, year=scope.year, communes=scope.communes, as_of=scope.as_of, policy=scope.policy
    )
    t = visit.t
    charts = {
        "democracy": figures.democracy_chart(t, view.democracy),
        "fairness": figures.fairness_chart(t, view.fairness),
        "timeliness": figures.timeliness_chart(t, view.timeliness),
        "targets": figures.targets_chart(t, view.targets),
        "findings": figures.findings_chart(t, view.open_findings_by_kind),
        "communes": figures.commune_chart(t, view.communes, scope.name, scope.year),
    }
    return render(
        visit,
        "overview.html",
        section="overview",
        scope=scope,
        view=view,
        charts=charts,
        name=scope.name,
    )


async def _democracy(
    visit: Visit, session: AsyncSession, scope: Scope, commune: str | None
) -> dict[str, Any]:
    view = await queries.democracy(
        session,
        year=scope.year,
        commune_code=commune,
        communes=scope.communes,
        as_of=scope.as_of,
        policy=scope.policy,
    )
    return {"view": view, "chart": figures.democracy_chart(visit.t, view.total)}


async def _fairness(
    visit: Visit, session: AsyncSession, scope: Scope, commune: str | None
) -> dict[str, Any]:
    view = await queries.fairness(
        session,
        year=scope.year,
        commune_code=commune,
        communes=scope.communes,
        as_of=scope.as_of,
        policy=scope.policy,
    )
    benefits = sorted({row.benefit for row in view.distribution})
    return {
        "view": view,
        "chart": figures.fairness_chart(visit.t, view.total),
        "distribution": [
            (b, figures.distribution_chart(visit.t, view.distribution, b, scope.name))
            for b in benefits
        ],
    }


async def _timeliness(
    visit: Visit, session: AsyncSession, scope: Scope, commune: str | None
) -> dict[str, Any]:
    view = await queries.timeliness(
        session,
        year=scope.year,
        commune_code=commune,
        communes=scope.communes,
        as_of=scope.as_of,
        policy=scope.policy,
    )
    return {
        "view": view,
        "chart": figures.timeliness_chart(visit.t, view.total),
        "backlogs": [
            (lag, figures.backlog_chart(visit.t, lag)) for lag in view.total.lags if lag.open
        ],
    }


async def _targets(
    visit: Visit, session: AsyncSession, scope: Scope, commune: str | None
) -> dict[str, Any]:
    view = await queries.targets(
        session,
        year=scope.year,
        commune_code=commune,
        communes=scope.communes,
        as_of=scope.as_of,
        policy=scope.policy,
    )
    return {"view": view, "chart": figures.targets_chart(visit.t, view.total)}


VIEW_PAGES = {
    "democracy": _democracy,
    "fairness": _fairness,
    "timeliness": _timeliness,
    "targets": _targets,
}


@router.get("/dashboard/views/{view_name}")
async def view_page(
    view_name: ViewName,
    visit: InspectorVisit,
    session: SessionDep,
    runtime: Runtime,
    year: YearQuery = None,
    commune: CommuneQuery = None,
) -> Response:
    """One monitoring view in full: totals, one row per commune, and its details."""
    commune = commune or None
    scope = page_scope(visit, runtime, year)
    assert visit.principal is not None
    authorize_read(visit.principal, SERVICE, commune)
    context = await VIEW_PAGES[view_name](visit, session, scope, commune)
    return render(
        visit,
        f"view_{view_name}.html",
        section="overview",
        view_name=view_name,
        scope=scope,
        commune=commune,
        name=scope.name,
        **context,
    )
