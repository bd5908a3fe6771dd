"""Routes of the households registry: register, list and read households, add members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.households import commands, queries
from services.households.schemas import (
    COMMUNE_CODE_PATTERN,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    PersonIn,
)
from shared.auth import CurrentPrincipal
from shared.problems import problem_responses
from shared.service import ResourceId, Runtime, SessionDep

router = APIRouter(tags=["households"])


@router.post(
    "/households",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdOut,
    responses=problem_responses(403, 409),
)
async def create_household(
    body: HouseholdIn, principal: CurrentPrincipal, session: SessionDep, runtime: Runtime
) -> HouseholdOut:
    """Register a household with its members."""
    return await commands.create_household(session, principal, body, runtime.pseudonyms)


@router.get("/households", response_model=HouseholdPage, responses=problem_responses(403))
async def list_households(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: Annotated[str | None, Query(pattern=COMMUNE_CODE_PATTERN)] = None,
    poverty_class: Annotated[
        str | None, Query(pattern=r"^(poor|near_poor|middle_income|not_poor|unclassified)$")
    ] = None,
    after: Annotated[
        ResourceId | None, Query(description="cursor: the last household_id of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HouseholdPage:
    """Households the caller may read, in id order, a page at a time."""
    return await queries.list_households(
        session,
        principal,
        commune_code=commune_code,
        poverty_class=poverty_class,
        after=after,
        limit=limit,
    )


@router.get(
    "/households/{household_id}", response_model=HouseholdOut, responses=problem_responses(403, 404)
)
async def read_household(
    household_id: ResourceId, principal: CurrentPrincipal, session: SessionDep
) -> HouseholdOut:
    """One household with its members (pseudonymised)."""
    return await queries.read_household(session, principal, household_id)


@router.post(
    "/households/{household_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdOut,
    responses=problem_responses(403, 404, 409),
)
async def add_member(
    household_id: ResourceId,
    body: PersonIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
) -> HouseholdOut:
    """Add a person to a household."""
    await commands.add_member(session, principal, household_id, body, runtime.pseudonyms)
    return await queries.read_household(session, principal, household_id)
