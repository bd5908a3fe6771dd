"""Routes of the changes outside the periodic review: a regular review on application
(monthly) and a voluntary registration to leave poverty."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from services.households.api.deps import CommuneQuery, Config
from services.households.review import commands, queries
from services.households.review.schemas import (
    ApplicationIn,
    ApplicationOut,
    DecisionIn,
    EscapeIn,
    EscapeOut,
)
from shared.auth import CurrentPrincipal
from shared.problems import problem_responses
from shared.service import ResourceId, SessionDep

router = APIRouter(tags=["reviews"])


@router.post(
    "/households/{household_id}/escape-registrations",
    status_code=status.HTTP_201_CREATED,
    response_model=EscapeOut,
    responses=problem_responses(403, 404),
)
async def register_escape(
    household_id: ResourceId, body: EscapeIn, principal: CurrentPrincipal, session: SessionDep
) -> EscapeOut:
    """A poor or near-poor household registers voluntarily to leave poverty."""
    return await commands.register_escape(session, principal, household_id, body)


@router.post(
    "/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
    responses=problem_responses(403, 409),
)
async def receive_application(
    body: ApplicationIn, principal: CurrentPrincipal, session: SessionDep, config: Config
) -> ApplicationOut:
    """Receive a regular-review application; due_on is when its decision is due."""
    return await commands.receive_application(session, principal, body, config)


@router.post(
    "/applications/{application_id}/decision",
    response_model=ApplicationOut,
    responses=problem_responses(403, 404, 409),
)
async def decide_application(
    application_id: ResourceId, body: DecisionIn, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationOut:
    """Approve an application (the household takes the assessment's class) or refuse it."""
    return await commands.decide_application(session, principal, application_id, body)


@router.get("/applications", response_model=list[ApplicationOut], responses=problem_responses(403))
async def list_applications(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    status_: Annotated[Literal["open", "decided"] | None, Query(alias="status")] = None,
    overdue: Annotated[bool | None, Query(description="true: open past their due day")] = None,
) -> list[ApplicationOut]:
    """Applications the caller may read: the worklist, oldest first."""
    return await queries.list_applications(session, principal, commune_code, status_, overdue)
