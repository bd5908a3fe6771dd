"""Routes of complaints about a review result or a classification."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from services.households.api.deps import CommuneQuery, Config
from services.households.review import commands, queries
from services.households.review.schemas import ComplaintIn, ComplaintOut, ResolutionIn
from shared.auth import CurrentPrincipal
from shared.problems import problem_responses
from shared.service import ResourceId, SessionDep

router = APIRouter(tags=["reviews"])


@router.post(
    "/complaints",
    status_code=status.HTTP_201_CREATED,
    response_model=ComplaintOut,
    responses=problem_responses(403),
)
async def file_complaint(
    body: ComplaintIn, principal: CurrentPrincipal, session: SessionDep, config: Config
) -> ComplaintOut:
    """Receive a household's complaint; an open complaint on a review blocks its recognition."""
    return await commands.file_complaint(session, principal, body, config)


@router.post(
    "/complaints/{complaint_id}/resolution",
    response_model=ComplaintOut,
    responses=problem_responses(403, 404, 409),
)
async def resolve_complaint(
    complaint_id: ResourceId, body: ResolutionIn, principal: CurrentPrincipal, session: SessionDep
) -> ComplaintOut:
    """Answer a complaint; an upheld one may correct the household's class."""
    return await commands.resolve_complaint(session, principal, complaint_id, body)


@router.get("/complaints", response_model=list[ComplaintOut], responses=problem_responses(403))
async def list_complaints(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    status_: Annotated[Literal["open", "resolved"] | None, Query(alias="status")] = None,
    review_id: ResourceId | None = None,
) -> list[ComplaintOut]:
    """Complaints the caller may read, oldest first."""
    return await queries.list_complaints(session, principal, commune_code, status_, review_id)
