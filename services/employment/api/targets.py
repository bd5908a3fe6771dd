"""Yearly targets per district and commune, progress against them, administrative units."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment import domain
from services.employment.admin_units import load_units
from services.employment.events import TargetSet
from services.employment.models import Target, platform
from services.employment.operations import SERVICE, policy
from services.employment.queries import target_progress, target_view
from services.employment.schemas import AdminUnitOut, ProgressOut, TargetIn, TargetOut
from shared.auth import CurrentPrincipal, Principal, authorize_read, authorize_write
from shared.outbox import append_event
from shared.problems import RuleViolation
from shared.service import Runtime, SessionDep

router = APIRouter(tags=["targets"])
Year = Annotated[int, Path(ge=2000, le=2100)]
UnitCode = Annotated[str, Path(pattern=r"^\d{2,5}$", description="district or commune code")]


async def _unit_and_communes(
    session: AsyncSession, unit_code: str, start: date, end: date
) -> tuple[domain.AdminUnit, frozenset[str]]:
    units = await load_units(session)
    unit = domain.unit_in_force(units, unit_code, start, end)
    if unit is None:
        raise RuleViolation(
            f"no administrative unit {unit_code} existed between {start} and {end}",
            field="path.unit_code",
        )
    return unit, domain.communes_of(units, unit_code, start, end)


def _authorize_unit(principal: Principal, communes: frozenset[str], *, write: bool) -> None:
    """A district's plan is for the officers of all its communes (or the whole locality)."""
    for commune in sorted(communes):
        if write:
            authorize_write(principal, SERVICE, commune)
        else:
            authorize_read(principal, SERVICE, commune)


@router.put("/targets/{year}/{unit_code}", response_model=TargetOut)
async def set_target(
    year: Year,
    unit_code: UnitCode,
    body: TargetIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> TargetOut:
    """Set (or change) a year's plan for a district or commune."""
    if body.placements is None and body.trainees is None and body.rural_trainees is None:
        raise RuleViolation(
            "a target sets at least one of placements, trainees, rural_trainees",
            field="body.placements",
        )
    async with session.begin():
        unit, communes = await _unit_and_communes(
            session, unit_code, date(year, 1, 1), date(year, 12, 31)
        )
        _authorize_unit(principal, communes or frozenset({unit_code}), write=True)
        target = (
            await session.execute(
                select(Target).where(Target.year == year, Target.unit_code == unit_code)
            )
        ).scalar_one_or_none()
        if target is None:
            target = Target(id=str(uuid.uuid4()), year=year, unit_code=unit_code)
            session.add(target)
        target.unit_level = unit.level
        target.placements = body.placements
        target.trainees = body.trainees
        target.rural_trainees = body.rural_trainees
        await append_event(
            session,
            platform,
            TargetSet(
                target_id=target.id,
                year=year,
                unit_code=unit_code,
                unit_level=unit.level,
                placements=body.placements,
                trainees=body.trainees,
                rural_trainees=body.rural_trainees,
            ),
            target.id,
        )
    return target_view(target)


@router.get("/targets", response_model=list[TargetOut])
async def list_targets(
    principal: CurrentPrincipal,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[TargetOut]:
    """The plans set, by year and unit."""
    authorize_read(principal, SERVICE, None)
    query = select(Target).order_by(Target.year, Target.unit_code)
    if year is not None:
        query = query.where(Target.year == year)
    return [target_view(t) for t in (await session.execute(query)).scalars()]


@router.get("/targets/{year}/{unit_code}/progress", response_model=ProgressOut)
async def read_progress(
    year: Year,
    unit_code: UnitCode,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
    as_of: Annotated[date | None, Query(description="progress on this day (default today)")] = None,
) -> ProgressOut:
    """Placements and trainees against the year's plan, with the poor and near-poor share."""
    day = as_of or date.today()
    start = date(year, 1, 1)
    end = max(start, min(day, date(year, 12, 31)))
    unit, communes = await _unit_and_communes(session, unit_code, start, end)
    _authorize_unit(principal, communes or frozenset({unit_code}), write=False)
    return await target_progress(
        session,
        unit=unit,
        communes=communes,
        year=year,
        as_of=day,
        period=domain.PlacementPeriod(policy(runtime).placement_period),
    )


@router.get("/admin-units", response_model=list[AdminUnitOut])
async def list_admin_units(
    principal: CurrentPrincipal,
    session: SessionDep,
    on: Annotated[date | None, Query(description="only units in force on this day")] = None,
    parent_code: Annotated[str | None, Query(max_length=10)] = None,
) -> list[AdminUnitOut]:
    """Provinces, districts and communes with their validity dates."""
    authorize_read(principal, SERVICE, None)
    units = await load_units(session)
    return [
        AdminUnitOut(**u.__dict__)
        for u in units
        if (on is None or u.overlaps(on, on))
        and (parent_code is None or u.parent_code == parent_code)
    ]
