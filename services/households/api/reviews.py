"""Routes of the periodic review: list the households, survey them (assessments with
review_id), hold the village meeting, post the results publicly, recognise the list."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.households.api.deps import CommuneQuery, Config
from services.households.review import commands, queries
from services.households.review.schemas import (
    MeetingIn,
    MeetingResultOut,
    PostingIn,
    RecognitionIn,
    RecognitionOut,
    ReviewHouseholdsIn,
    ReviewIn,
    ReviewOut,
    ReviewSummaryOut,
)
from shared.auth import CurrentPrincipal
from shared.problems import problem_responses
from shared.service import ResourceId, SessionDep

router = APIRouter(tags=["reviews"])


@router.post(
    "/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewSummaryOut,
    responses=problem_responses(403, 409),
)
async def open_review(
    body: ReviewIn, principal: CurrentPrincipal, session: SessionDep, config: Config
) -> ReviewSummaryOut:
    """Open a village's periodic review, listing the households to review."""
    return await commands.open_review(session, principal, body, config)


@router.get("/reviews", response_model=list[ReviewSummaryOut], responses=problem_responses(403))
async def list_reviews(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    year: Annotated[int | None, Query(ge=2016, le=2100)] = None,
) -> list[ReviewSummaryOut]:
    """Reviews the caller may read, newest year first."""
    return await queries.list_reviews(session, principal, commune_code, year)


@router.get("/reviews/{review_id}", response_model=ReviewOut, responses=problem_responses(403, 404))
async def read_review(
    review_id: ResourceId,
    principal: CurrentPrincipal,
    session: SessionDep,
    config: Config,
    on: Annotated[
        date | None, Query(description="day to check recognition for; default today")
    ] = None,
) -> ReviewOut:
    """A review with its households, meetings, complaints and recognition blockers."""
    return await queries.read_review(session, principal, review_id, config, on or date.today())


@router.post(
    "/reviews/{review_id}/households",
    response_model=ReviewSummaryOut,
    responses=problem_responses(403, 404, 409),
)
async def add_review_households(
    review_id: ResourceId,
    body: ReviewHouseholdsIn,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> ReviewSummaryOut:
    """List more households in a review that is still listing or surveying."""
    return await commands.add_review_households(session, principal, review_id, body)


@router.post(
    "/reviews/{review_id}/meetings",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingResultOut,
    responses=problem_responses(403, 404),
)
async def hold_meeting(
    review_id: ResourceId,
    body: MeetingIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    config: Config,
) -> MeetingResultOut:
    """Record the village meeting on a surveyed list: approved, or back to surveying."""
    return await commands.hold_meeting(session, principal, review_id, body, config)


@router.post(
    "/reviews/{review_id}/posting",
    response_model=ReviewSummaryOut,
    responses=problem_responses(403, 404),
)
async def post_results(
    review_id: ResourceId,
    body: PostingIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    config: Config,
) -> ReviewSummaryOut:
    """Post the approved results publicly; opens the complaint window."""
    return await commands.post_results(session, principal, review_id, body, config)


@router.post(
    "/reviews/{review_id}/recognition",
    response_model=RecognitionOut,
    responses=problem_responses(403, 404, 409),
)
async def recognise(
    review_id: ResourceId,
    body: RecognitionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    config: Config,
) -> RecognitionOut:
    """The commune chair recognises the list; listed households take the class it gives them."""
    return await commands.recognise(session, principal, review_id, body, config)
