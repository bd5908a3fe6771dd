"""The periodic review's write path: open a village's review and list its households, hold
the village meeting, post the results publicly. Recognition is in :mod:`.recognition`.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.events import ReviewListPosted, ReviewMeetingHeld
from services.households.models import Household, Review, ReviewHousehold, ReviewMeeting, platform
from services.households.review.domain import (
    ReviewConfig,
    ReviewRuleViolation,
    ReviewStage,
    assert_transition,
    in_periodic_window,
    meeting_outcome,
    posting_period_end,
)
from services.households.review.records import (
    approved_meeting,
    get_review,
    listed_household_ids,
    review_classes,
)
from services.households.review.schemas import (
    MeetingIn,
    MeetingResultOut,
    PostingIn,
    ReviewHouseholdsIn,
    ReviewIn,
    ReviewSummaryOut,
)
from services.households.review.views import meeting_view, review_summary
from services.households.settings import SERVICE
from shared.auth import Principal, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict, RuleViolation


async def open_review(
    session: AsyncSession, principal: Principal, body: ReviewIn, config: ReviewConfig
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


async def add_review_households(
    session: AsyncSession, principal: Principal, review_id: str, body: ReviewHouseholdsIn
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


async def hold_meeting(
    session: AsyncSession,
    principal: Principal,
    review_id: str,
    body: MeetingIn,
    config: ReviewConfig,
) -> MeetingResultOut:
    """Record the village meeting on a surveyed list: approved, or back to surveying."""
    async with session.begin():
        review = await get_review(session, review_id, for_update=True)
        authorize_write(principal, SERVICE, review.commune_code)
        move_stage(review.stage, ReviewStage.MEETING_APPROVED)
        await check_meeting_input(session, review, body)
        outcome = meeting_outcome(
            config.policy, body.invited_households, body.attendees, body.agreeing
        )
        procedure = _procedure_faults(body)
        approved = outcome.approved and not procedure
        target = ReviewStage.MEETING_APPROVED if approved else ReviewStage.SURVEYING
        move_stage(review.stage, target)
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


async def post_results(
    session: AsyncSession,
    principal: Principal,
    review_id: str,
    body: PostingIn,
    config: ReviewConfig,
) -> ReviewSummaryOut:
    """Post the approved results publicly; opens the complaint window."""
    async with session.begin():
        review = await get_review(session, review_id, for_update=True)
        authorize_write(principal, SERVICE, review.commune_code)
        move_stage(review.stage, ReviewStage.POSTED)
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


async def check_households_to_list(
    session: AsyncSession, review: Review, household_ids: Sequence[str]
) -> None:
    """422 naming body.household_ids.N for a household that is repeated or not in the commune;
    409 for one already listed in a review of the same year."""
    in_commune = set(
        (
            await session.execute(
                select(Household.id).where(
                    Household.id.in_(list(household_ids)),
                    Household.commune_code == review.commune_code,
                )
            )
        ).scalars()
    )
    seen: dict[str, int] = {}
    for index, household_id in enumerate(household_ids):
        field = f"body.household_ids.{index}"
        if household_id in seen:
            raise RuleViolation(f"repeats body.household_ids.{seen[household_id]}", field=field)
        seen[household_id] = index
        if household_id not in in_commune:
            raise RuleViolation(
                f"household {household_id} does not exist in commune {review.commune_code}",
                field=field,
            )
    listed = (
        await session.execute(
            select(ReviewHousehold.household_id, Review.id)
            .join(Review)
            .where(Review.year == review.year, ReviewHousehold.household_id.in_(list(seen)))
        )
    ).first()
    if listed is not None:
        raise Conflict(
            f"body.household_ids.{seen[listed[0]]}: household {listed[0]} is already "
            f"listed in review {listed[1]} of {review.year}"
        )


async def check_meeting_input(session: AsyncSession, review: Review, body: MeetingIn) -> None:
    """422 for impossible counts, a date before what the meeting follows, or an unsurveyed
    listed household."""
    if body.attendees > body.invited_households:
        raise RuleViolation(
            f"{body.attendees} attendees > {body.invited_households} invited households",
            field="body.attendees",
        )
    if body.agreeing > body.attendees:
        raise RuleViolation(
            f"{body.agreeing} agreeing > {body.attendees} attendees", field="body.agreeing"
        )
    last_meeting = (
        await session.execute(
            select(func.max(ReviewMeeting.held_on)).where(ReviewMeeting.review_id == review.id)
        )
    ).scalar()
    follows = max(review.opened_on, last_meeting or review.opened_on)
    if body.held_on < follows:
        what = (
            "the previous meeting"
            if last_meeting and last_meeting > review.opened_on
            else "the review opened"
        )
        raise RuleViolation(
            f"held_on {body.held_on.isoformat()} is before {what} ({follows.isoformat()})",
            field="body.held_on",
        )
    classes = await review_classes(session, review, up_to=body.held_on)
    unsurveyed = sorted(household_id for household_id, c in classes.items() if c.assessment is None)
    if unsurveyed:
        raise RuleViolation(
            f"listed households without an assessment in this review by "
            f"{body.held_on.isoformat()}: {', '.join(unsurveyed)}"
        )


def move_stage(current: str, target: ReviewStage) -> None:
    """Move on to `target`; 422 when the rules do not allow it from `current`."""
    try:
        assert_transition(ReviewStage(current), target)
    except ReviewRuleViolation as exc:
        raise RuleViolation(str(exc)) from exc


def _window(config: ReviewConfig) -> str:
    (m1, d1), (m2, d2) = config.policy.periodic_window_start, config.policy.periodic_window_end
    return f"{d1} {calendar.month_abbr[m1]} – {d2} {calendar.month_abbr[m2]}"
