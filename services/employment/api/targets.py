"""Yearly targets per district and commune, progress against them, administrative units."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.employment import queries
from services.employment.api.deps import (
    AsOf,
    CurrentPrincipal,
    Policy,
    SessionDep,
    UnitCode,
    Year,
    YearQuery,
)
from services.employment.commands import targets as target_commands
from services.employment.schemas import AdminUnitOut, ProgressOut, TargetIn, TargetOut
from services.employment.views import target_view

router = APIRouter(tags=["targets"])


@router.put("/targets/{year}/{unit_code}", response_model=TargetOut)
async def set_target(
    year: Year,
    unit_code: UnitCode,
    body: TargetIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> TargetOut:
    """Set (or change) a year's plan for a district or commune."""
    target = await target_commands.set_target(session, principal, year, unit_code, body)
    return target_view(target)


@router.get("/targets", response_model=list[TargetOut])
async def list_targets(
    principal: CurrentPrincipal, session: SessionDep, year: YearQuery = None
) -> list[TargetOut]:
    """The plans set, by year and unit."""
    return await queries.list_targets(session, principal, year)


@router.get("/targets/{year}/{unit_code}/progress", response_model=ProgressOut)
async def read_progress(
    year: Year,
    unit_code: UnitCode,
    principal: CurrentPrincipal,
    session: SessionDep,
    policy: Policy,
    as_of: AsOf = None,
) -> ProgressOut:
    """Placements and trainees against the year's plan, with the poor and near-poor share."""
    return await queries.read_progress(
        session, principal, year, unit_code, as_of=as_of, policy=policy
    )


@router.get("/admin-units", response_model=list[AdminUnitOut])
async def list_admin_units(
    principal: CurrentPrincipal,
    session: SessionDep,
    on: Annotated[date | None, Query(description="only units in force on this day")] = None,
    parent_code: Annotated[str | None, Query(max_length=10)] = None,
) -> list[AdminUnitOut]:
    """Provinces, districts and communes with their validity dates."""
    return await queries.list_admin_units(session, principal, on=on, parent_code=parent_code)
