"""Drill-down: province (and, before July 2025, district) → commune → household."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

import services.audit.dashboard.areas as areas
import services.audit.dashboard.figures as figures
from services.audit.dashboard.access import DashboardRoute, InspectorVisit
from services.audit.dashboard.rendering import render
from services.audit.dashboard.scope import YearQuery, page_scope
from services.audit.monitoring import queries
from services.audit.monitoring.schemas import CommuneRow
from shared.admin_units import AdminUnit
from shared.auth import authorize_read
from shared.service import ResourceId, Runtime, SessionDep

SERVICE = "audit"
router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
UnitCode = Annotated[str, Path(pattern=r"^\d{2,5}$")]
CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$")]
HOUSEHOLDS_PER_PAGE = 50


@dataclass(frozen=True)
class AreaRow:
    """A unit under the one shown, with the totals of its communes that have events."""

    unit: AdminUnit
    communes: int
    communes_with_data: int
    households: int
    open_findings: int

    @property
    def href(self) -> str:
        kind = "communes" if self.unit.level == "commune" else "areas"
        return f"/dashboard/{kind}/{self.unit.code}"


def _area_row(unit: AdminUnit, rows: dict[str, CommuneRow], on: date) -> AreaRow:
    if unit.level == "commune":
        codes = [unit.code]
    else:
        codes = [c.code for c in areas.communes_under(unit.code, on)]
    present = [rows[c] for c in codes if c in rows]
    return AreaRow(
        unit=unit,
        communes=len(codes),
        communes_with_data=len(present),
        households=sum(r.households for r in present),
        open_findings=sum(r.open_findings for r in present),
    )


def _elsewhere(rows: dict[str, CommuneRow], on: date) -> list[CommuneRow]:
    """Communes with events whose code no unit of ``on`` covers (renamed or merged since)."""
    known = {u.code for p in areas.top_units(on) for u in areas.communes_under(p.code, on)}
    return [row for code, row in sorted(rows.items()) if code not in known]


@router.get("/dashboard/areas")
async def areas_page(
    visit: InspectorVisit, session: SessionDep, runtime: Runtime, year: YearQuery = None
) -> Response:
    """The provinces of the year, and communes whose codes no longer exist."""
    scope = page_scope(visit, runtime, year)
    rows = {
        r.commune_code: r
        for r in await queries.commune_rows(
            session,
            year=scope.year,
            communes=scope.communes,
            as_of=scope.as_of,
            policy=scope.policy,
        )
    }
    units = [_area_row(u, rows, scope.as_of) for u in areas.top_units(scope.as_of)]
    elsewhere = _elsewhere(rows, scope.as_of)
    return render(
        visit,
        "areas.html",
        section="areas",
        scope=scope,
        unit=None,
        chain=[],
        units=units,
        rows=elsewhere,
        chart=figures.commune_chart(visit.t, elsewhere, scope.name, scope.year),
        name=scope.name,
    )


@router.get("/dashboard/areas/{code}")
async def area_page(
    code: UnitCode,
    visit: InspectorVisit,
    session: SessionDep,
    runtime: Runtime,
    year: YearQuery = None,
) -> Response:
    """A province or district: the units under it, with their communes' figures."""
    scope = page_scope(visit, runtime, year)
    unit = areas.unit(code, scope.as_of)
    if unit is None or unit.level == "commune":
        return render(
            visit, "message.html", 404, title_key="missing.title", message_key="missing.area"
        )
    rows = {
        r.commune_code: r
        for r in await queries.commune_rows(
            session,
            year=scope.year,
            communes=scope.communes,
            as_of=scope.as_of,
            policy=scope.policy,
        )
    }
    children = areas.children(code, scope.as_of)
    commune_rows = [rows[c.code] for c in children if c.code in rows]
    return render(
        visit,
        "areas.html",
        section="areas",
        scope=scope,
        unit=unit,
        chain=areas.lineage(code, scope.as_of),
        units=[_area_row(c, rows, scope.as_of) for c in children],
        rows=commune_rows,
        chart=figures.commune_chart(visit.t, commune_rows, scope.name, scope.year),
        name=scope.name,
    )


@router.get("/dashboard/communes/{code}")
async def commune_page(
    code: CommuneCode,
    visit: InspectorVisit,
    session: SessionDep,
    runtime: Runtime,
    year: YearQuery = None,
    after: Annotated[ResourceId | None, Query()] = None,
) -> Response:
    """One commune: the four views for it and its households, a page at a time."""
    scope = page_scope(visit, runtime, year)
    assert visit.principal is not None
    authorize_read(visit.principal, SERVICE, code)
    view = await queries.overview(
        session,
        year=scope.year,
        commune_code=code,
        communes=scope.communes,
        as_of=scope.as_of,
        policy=scope.policy,
    )
    households = await queries.commune_households(
        session, commune_code=code, after=after, limit=HOUSEHOLDS_PER_PAGE
    )
    t = visit.t
    return render(
        visit,
        "commune.html",
        section="areas",
        scope=scope,
        code=code,
        chain=areas.lineage(code, scope.as_of),
        view=view,
        households=households,
        after=after,
        charts={
            "democracy": figures.democracy_chart(t, view.democracy),
            "fairness": figures.fairness_chart(t, view.fairness),
            "timeliness": figures.timeliness_chart(t, view.timeliness),
            "targets": figures.targets_chart(t, view.targets),
        },
        name=scope.name,
    )
