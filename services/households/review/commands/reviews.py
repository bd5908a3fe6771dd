"""Periodic review over HTTP: list the households, survey them (assessments with review_id),
hold the village meeting, post the results publicly, recognise the list.

This router also carries the routes of `complaints_api` and `applications_api` (regular review
and voluntary escape), so app.py includes the whole review process at once.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select

from services.households import applications_api, complaints_api
from services.households.domain import (
    ReviewRuleViolation,
    ReviewStage,
    assert_transition,
    in_periodic_window,
    meeting_outcome,
    posting_period_end,
)
from services.households.events import ReviewListPosted, ReviewMeetingHeld, ReviewRecognised
from services.households.models import (
    Household,
    Review,
    ReviewHousehold,
    ReviewMeeting,
    platform,
)
from services.households.operations import reclassify
from services.households.review_queries import (
    SERVICE,
    CommuneQuery,
    Config,
    ReviewClass,
    approved_meeting,
    blockers_on,
    check_households_to_list,
    check_meeting_input,
    get_review,
    listed_household_ids,
    meeting_view,
    review_classes,
    review_summary,
    review_view,
)
from services.households.review_schemas import (
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
from shared.auth import CurrentPrincipal, authorize_read, authorize_write, readable_communes
from shared.outbox import append_event
from shared.problems import Conflict, Problem, RuleViolation, problem_responses
from shared.service import ResourceId, SessionDep

router = APIRouter(tags=["reviews"])
router.include_router(complaints_api.router)
router.include_router(applications_api.router)

# Leaving poverty means a better class than poor or near-poor; middle-income and not-poor are
# both out of poverty, so neither counts as escaping from the other.
_POVERTY_RANK = {"poor": 0, "near_poor": 1, "middle_income": 2, "not_poor": 2}


def _move(current: str, target: ReviewStage) -> None:
    try:
        assert_transition(ReviewStage(current), target)
    except ReviewRuleViolation as exc:
        raise RuleViolation(str(exc)) from exc


def _window(config: Config) -> str:
    (m1, d1), (m2, d2) = config.policy.periodic_window_start, config.policy.periodic_window_end
    return f"{d1} {calendar.month_abbr[m1]} – {d2} {calendar.month_abbr[m2]}"


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
    authorize_write(principal, SERVICE, body.commune_code)
    if config.enforce_periodic_window and not in_periodic_window(config.policy, body.opened_on):
        raise RuleViolation(
            f"a periodic review opens within {_window(config)}, not on "
            f"{body.opened_on.isoformat()}",
            field="body.opened_on",
        )
    if body.year != body.opened_on.year:
        raise RuleViolation(
            f"the {body.year} review cannot open in {body.opened_on.year}", field="body.year"
        )
    async with session.begin():
        existing = (
            await session.execute(
                select(Review.id).where(
                    Review.commune_code == body.commune_code,
                    Review.village == body.village,
                    Review.year == body.year,
                )
            )
        ).scalar()
        if existing is not None:
            raise Conflict(f"village {body.village} already has the {body.year} review {existing}")
        review = Review(
            id=str(uuid.uuid4()),
            commune_code=body.commune_code,
            village=body.village,
            year=body.year,
            stage=ReviewStage.LISTING.value,
            opened_on=body.opened_on,
        )
        session.add(review)
        await check_households_to_list(session, review, body.household_ids)
        session.add_all(
            ReviewHousehold(review_id=review.id, household_id=household_id)
            for household_id in body.household_ids
        )
    return review_summary(review, len(body.household_ids))


@router.get("/reviews", response_model=list[ReviewSummaryOut], responses=problem_responses(403))
async def list_reviews(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    year: Annotated[int | None, Query(ge=2016, le=2100)] = None,
) -> list[ReviewSummaryOut]:
    """Reviews the caller may read, newest year first."""
    authorize_read(principal, SERVICE, commune_code)
    listed = (
        select(ReviewHousehold.review_id, func.count().label("n"))
        .group_by(ReviewHousehold.review_id)
        .subquery()
    )
    query = (
        select(Review, func.coalesce(listed.c.n, 0))
        .outerjoin(listed, listed.c.review_id == Review.id)
        .order_by(Review.year.desc(), Review.commune_code, Review.village)
    )
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Review.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Review.commune_code == commune_code)
    if year:
        query = query.where(Review.year == year)
    return [review_summary(review, count) for review, count in await session.execute(query)]


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
    review = await get_review(session, review_id)
    authorize_read(principal, SERVICE, review.commune_code)
    return await review_view(session, review, config, on or date.today())


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
    async with session.begin():
        review = await get_review(session, review_id, for_update=True)
        authorize_write(principal, SERVICE, review.commune_code)
        if review.stage not in (ReviewStage.LISTING, ReviewStage.SURVEYING):
            raise RuleViolation(
                f"review is {review.stage}: households are listed only while listing or surveying"
            )
        await check_households_to_list(session, review, body.household_ids)
        session.add_all(
            ReviewHousehold(review_id=review.id, household_id=household_id)
            for household_id in body.household_ids
        )
        listed = len(await listed_household_ids(session, review.id))
    return review_summary(review, listed)


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
    async with session.begin():
        review = await get_review(session, review_id, for_update=True)
        authorize_write(principal, SERVICE, review.commune_code)
        _move(review.stage, ReviewStage.MEETING_APPROVED)
        await check_meeting_input(session, review, body)
        outcome = meeting_outcome(
            config.policy, body.invited_households, body.attendees, body.agreeing
        )
        procedure = _procedure_faults(body)
        approved = outcome.approved and not procedure
        target = ReviewStage.MEETING_APPROVED if approved else ReviewStage.SURVEYING
        _move(review.stage, target)
        meeting = ReviewMeeting(
            id=str(uuid.uuid4()),
            review_id=review.id,
            quorum_met=outcome.quorum_met,
            approved=approved,
            **body.model_dump(),
        )
        session.add(meeting)
        review.stage = target.value
        if approved:
            review.approved_meeting_id = meeting.id
        await append_event(
            session,
            platform,
            ReviewMeetingHeld(
                review_id=review.id,
                meeting_id=meeting.id,
                commune_code=review.commune_code,
                village=review.village,
                quorum_met=outcome.quorum_met,
                agreement_share=float(outcome.agreement_share),
                approved=approved,
                **body.model_dump(exclude={"minutes"}),
            ),
            review.id,
        )
    reasons = [
        *outcome.reasons,
        *(f"{why}: the meeting cannot approve the list" for why in procedure),
    ]
    return MeetingResultOut(
        **meeting_view(meeting).model_dump(), review_stage=review.stage, reasons=reasons
    )


def _procedure_faults(body: MeetingIn) -> list[str]:
    """Why the meeting was not held as the rules require (then it cannot approve the list)."""
    faults = {
        "the village head did not chair the meeting": body.chaired_by_village_head,
        "the Fatherland Front did not supervise it": body.supervised_by_fatherland_front,
    }
    return [fault for fault, held_properly in faults.items() if not held_properly]


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
    async with session.begin():
        review = await get_review(session, review_id, for_update=True)
        authorize_write(principal, SERVICE, review.commune_code)
        _move(review.stage, ReviewStage.POSTED)
        meeting = await approved_meeting(session, review)
        assert meeting is not None  # a review reaches meeting_approved only through one
        if body.posted_on < meeting.held_on:
            raise RuleViolation(
                f"posted_on {body.posted_on.isoformat()} is before the meeting "
                f"that approved the list ({meeting.held_on.isoformat()})",
                field="body.posted_on",
            )
        policy = config.policy
        review.stage = ReviewStage.POSTED.value
        review.posted_on = body.posted_on
        review.posting_ends_on = posting_period_end(policy, body.posted_on, config.holidays)
        listed = len(await listed_household_ids(session, review.id))
        await append_event(
            session,
            platform,
            ReviewListPosted(
                review_id=review.id,
                commune_code=review.commune_code,
                village=review.village,
                posted_on=body.posted_on,
                posting_ends_on=review.posting_ends_on,
                required_working_days=max(
                    policy.posting_working_days, policy.complaint_working_days
                ),
                households_listed=listed,
            ),
            review.id,
        )
    return review_summary(review, listed)


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
    async with session.begin():
        review = await get_review(session, review_id, for_update=True)
        authorize_write(principal, SERVICE, review.commune_code)
        if review.recognised_on is not None:
            raise Conflict(f"review {review.id} was recognised on {review.recognised_on}")
        blockers = await blockers_on(session, review, config, body.recognised_on)
        if blockers:
            raise _recognition_refused(body.recognised_on, blockers)
        _move(review.stage, ReviewStage.RECOGNISED)
        classes = await review_classes(session, review)
        households = {
            h.id: h
            for h in await session.scalars(
                select(Household).where(Household.id.in_(list(classes))).with_for_update()
            )
        }
        result = _recognition(review.id, body.recognised_on, classes, households)
        review.stage, review.recognised_on = ReviewStage.RECOGNISED.value, body.recognised_on
        counts = result.model_dump(include={"households_reviewed", "poor", "near_poor", "escaped"})
        recognised = ReviewRecognised(
            review_id=review.id,
            commune_code=review.commune_code,
            village=review.village,
            year=review.year,
            recognised_on=body.recognised_on,
            meeting_id=review.approved_meeting_id,
            posted_on=review.posted_on,
            posting_ends_on=review.posting_ends_on,
            **counts,
        )
        await append_event(session, platform, recognised, review.id)
        for household_id, review_class in classes.items():
            if await _apply_review_class(session, households[household_id], review, review_class):
                result.reclassified_household_ids.append(household_id)
    return result


def _recognition_refused(on: date, blockers: list[str]) -> Problem:
    """422 naming every blocker, one `errors` entry each."""
    errors = [
        {"field": "body.recognised_on", "message": blocker, "type": "recognition_blocker"}
        for blocker in blockers
    ]
    detail = f"the list may not be recognised on {on.isoformat()}: {'; '.join(blockers)}"
    return Problem(422, detail=detail, extra={"errors": errors})


def _recognition(
    review_id: str,
    on: date,
    classes: dict[str, ReviewClass],
    households: dict[str, Household],
) -> RecognitionOut:
    """What recognising gives: households per class, and how many leave poverty."""
    before = {household_id: households[household_id].poverty_class for household_id in classes}
    given = {
        household_id: c.poverty_class or before[household_id] for household_id, c in classes.items()
    }
    return RecognitionOut(
        review_id=review_id,
        recognised_on=on,
        households_reviewed=len(given),
        poor=sum(1 for c in given.values() if c == "poor"),
        near_poor=sum(1 for c in given.values() if c == "near_poor"),
        escaped=sum(1 for h, c in given.items() if _escapes(before[h], c)),
        reclassified_household_ids=[],
    )


def _escapes(from_class: str, to_class: str) -> bool:
    return (
        from_class in ("poor", "near_poor")
        and _POVERTY_RANK.get(to_class, -1) > _POVERTY_RANK[from_class]
    )


async def _apply_review_class(
    session: SessionDep, household: Household, review: Review, review_class: ReviewClass
) -> bool:
    """Reclassify one household as the recognised review gives it; False when unchanged."""
    assessment, complaint = review_class.assessment, review_class.corrected_by
    to_class = review_class.poverty_class
    if to_class is None:  # unreachable: an approved meeting needs every listed household surveyed
        return False
    reasons = list(assessment.reasons) if assessment else []
    if complaint is not None:
        reasons.append(f"class corrected to {to_class} by upheld complaint {complaint.id}")
    assert review.recognised_on is not None
    return await reclassify(
        session,
        household,
        to_class=to_class,
        standard_code=assessment.standard_code if assessment else household.class_standard_code,
        reasons=reasons,
        effective_date=review.recognised_on,
        basis="periodic_review",
        review_id=review.id,
        assessment_id=assessment.id if assessment else None,
    )
