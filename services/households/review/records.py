"""What the review endpoints share: the review settings, a review and its listed households,
the class the review gives each of them, its open complaints, and how rows are shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import Depends, Query
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.domain import ReviewPolicy, recognition_blockers
from services.households.models import (
    Assessment,
    Complaint,
    Household,
    Review,
    ReviewHousehold,
    ReviewMeeting,
)
from services.households.review_schemas import (
    ComplaintOut,
    ListedHouseholdOut,
    MeetingIn,
    MeetingOut,
    ReviewOut,
    ReviewSummaryOut,
)
from services.households.schemas import COMMUNE_CODE_PATTERN
from shared.auth import Principal, authorize_write
from shared.problems import Conflict, NotFound, RuleViolation
from shared.service import Runtime

if TYPE_CHECKING:
    from services.households.app import HouseholdsSettings

SERVICE = "households"


@dataclass(frozen=True)
class ReviewConfig:
    """The review policy and the deadlines around it, as configured for this deployment."""

    policy: ReviewPolicy
    holidays: frozenset[date]
    complaint_resolution_days: int
    enforce_periodic_window: bool


def review_config(runtime: Runtime) -> ReviewConfig:
    """The deployment's review configuration (built once from HouseholdsSettings)."""
    config = runtime.extras.get("review_config")
    if config is None:
        settings = cast("HouseholdsSettings", runtime.settings)
        config = ReviewConfig(
            policy=ReviewPolicy(
                agreement_threshold=settings.review_agreement_threshold,
                quorum_share=settings.review_quorum_share,
                posting_working_days=settings.review_posting_working_days,
                application_decision_days=settings.application_decision_days,
                fall_into_poverty_working_days=settings.fall_into_poverty_working_days,
            ),
            holidays=frozenset(settings.public_holidays),
            complaint_resolution_days=settings.complaint_resolution_days,
            enforce_periodic_window=settings.enforce_periodic_window,
        )
        runtime.extras["review_config"] = config
    return cast(ReviewConfig, config)


Config = Annotated[ReviewConfig, Depends(review_config)]
CommuneQuery = Annotated[str | None, Query(pattern=COMMUNE_CODE_PATTERN)]


async def get_review(session: AsyncSession, review_id: str, *, for_update: bool = False) -> Review:
    """The review, locked for the rest of the transaction when `for_update`; else 404."""
    review = await session.get(Review, review_id, with_for_update=for_update)
    if review is None:
        raise NotFound(f"review {review_id} does not exist")
    return review


async def listed_household_ids(session: AsyncSession, review_id: str) -> list[str]:
    rows = await session.execute(
        select(ReviewHousehold.household_id)
        .where(ReviewHousehold.review_id == review_id)
        .order_by(ReviewHousehold.household_id)
    )
    return list(rows.scalars())


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


@dataclass(frozen=True)
class ReviewClass:
    """The class a review gives one household, and the evidence for it."""

    assessment: Assessment | None
    corrected_by: Complaint | None

    @property
    def poverty_class(self) -> str | None:
        if self.corrected_by is not None:
            return self.corrected_by.corrected_class
        return self.assessment.recorded_class if self.assessment is not None else None


async def approved_meeting(session: AsyncSession, review: Review) -> ReviewMeeting | None:
    if review.approved_meeting_id is None:
        return None
    return await session.get(ReviewMeeting, review.approved_meeting_id)


async def review_classes(
    session: AsyncSession, review: Review, *, up_to: date | None = None
) -> dict[str, ReviewClass]:
    """Per listed household: its latest assessment in the review dated up to `up_to`, and the
    class an upheld complaint corrected it to, if any.

    `up_to` defaults to the day of the approved meeting, if there is one: the village approved
    the results surveyed by then, not ones recorded after it.
    """
    if up_to is None:
        meeting = await approved_meeting(session, review)
        up_to = meeting.held_on if meeting is not None else None
    query = select(Assessment).where(Assessment.review_id == review.id)
    if up_to is not None:
        query = query.where(Assessment.assessed_on <= up_to)
    latest: dict[str, Assessment] = {}
    for assessment in (
        await session.execute(query.order_by(Assessment.assessed_on, Assessment.created_at))
    ).scalars():
        latest[assessment.household_id] = assessment
    corrections: dict[str, Complaint] = {}
    for complaint in (
        await session.execute(
            select(Complaint)
            .where(
                Complaint.review_id == review.id,
                Complaint.outcome == "upheld",
                Complaint.corrected_class.is_not(None),
            )
            .order_by(Complaint.resolved_on, Complaint.filed_on, Complaint.id)
        )
    ).scalars():
        corrections[complaint.household_id] = complaint
    return {
        household_id: ReviewClass(latest.get(household_id), corrections.get(household_id))
        for household_id in await listed_household_ids(session, review.id)
    }


async def open_complaint_count(session: AsyncSession, review_id: str) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Complaint)
                .where(Complaint.review_id == review_id, Complaint.status == "open")
            )
        ).scalar_one()
    )


async def blockers_on(
    session: AsyncSession, review: Review, config: ReviewConfig, on: date
) -> list[str]:
    """Why the commune chair may not recognise the review's list on `on`; empty = allowed."""
    if review.recognised_on is not None:
        return [f"the list is already recognised (on {review.recognised_on.isoformat()})"]
    meeting_approved: bool | None = None
    if review.approved_meeting_id is not None:
        meeting_approved = True
    elif (
        await session.execute(select(ReviewMeeting.id).where(ReviewMeeting.review_id == review.id))
    ).first():
        meeting_approved = False
    return recognition_blockers(
        config.policy,
        meeting_approved=meeting_approved,
        posted_on=review.posted_on,
        recognise_on=on,
        open_complaints=await open_complaint_count(session, review.id),
        holidays=config.holidays,
    )


def complaint_view(complaint: Complaint, today: date) -> ComplaintOut:
    """A complaint as the API shows it; overdue when still open after its due day."""
    return ComplaintOut(
        complaint_id=complaint.id,
        overdue=complaint.status == "open" and complaint.due_on < today,
        **_columns(complaint, ComplaintOut, "complaint_id", "overdue"),
    )


def meeting_view(meeting: ReviewMeeting) -> MeetingOut:
    """A recorded village meeting with its attendance and agreement shares."""
    return MeetingOut(
        meeting_id=meeting.id,
        attendance_share=meeting.attendees / meeting.invited_households,
        agreement_share=meeting.agreeing / meeting.attendees if meeting.attendees else 0.0,
        **_columns(meeting, MeetingOut, "meeting_id", "attendance_share", "agreement_share"),
    )


def _columns(row: Any, model: type[Any], *computed: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in model.model_fields if name not in computed}


async def writable_household(
    session: AsyncSession, principal: Principal, household_id: str, field: str
) -> Household:
    """The household, locked, when the caller may change it; 422 naming `field` if unknown."""
    household = await session.get(Household, household_id, with_for_update=True)
    if household is None:
        raise RuleViolation(f"household {household_id} does not exist", field=field)
    authorize_write(principal, SERVICE, household.commune_code)
    return household


def review_summary(review: Review, listed: int) -> ReviewSummaryOut:
    """A review's stage and dates; `listed` is how many households it lists."""
    return ReviewSummaryOut(
        review_id=review.id,
        commune_code=review.commune_code,
        village=review.village,
        year=review.year,
        stage=review.stage,
        opened_on=review.opened_on,
        households_listed=listed,
        approved_meeting_id=review.approved_meeting_id,
        posted_on=review.posted_on,
        posting_ends_on=review.posting_ends_on,
        recognised_on=review.recognised_on,
    )


async def review_view(
    session: AsyncSession, review: Review, config: ReviewConfig, on: date
) -> ReviewOut:
    """A review with its households, meetings, complaints and recognition blockers on `on`."""
    classes = await review_classes(session, review)
    rows = await session.execute(
        select(Household.id, Household.poverty_class).where(Household.id.in_(list(classes)))
    )
    current = {household_id: poverty_class for household_id, poverty_class in rows}
    meetings = (
        await session.execute(
            select(ReviewMeeting)
            .where(ReviewMeeting.review_id == review.id)
            .order_by(ReviewMeeting.held_on)
        )
    ).scalars()
    complaints = (
        await session.execute(
            select(Complaint)
            .where(Complaint.review_id == review.id)
            .order_by(Complaint.filed_on, Complaint.id)
        )
    ).scalars()
    households = [
        ListedHouseholdOut(
            household_id=household_id,
            current_class=current[household_id],
            assessment_id=c.assessment.id if c.assessment else None,
            assessed_class=c.assessment.recorded_class if c.assessment else None,
            review_class=c.poverty_class,
        )
        for household_id, c in classes.items()
    ]
    return ReviewOut(
        **review_summary(review, len(classes)).model_dump(),
        households=households,
        meetings=[meeting_view(m) for m in meetings],
        complaints=[complaint_view(c, date.today()) for c in complaints],
        blockers_on=on,
        recognition_blockers=await blockers_on(session, review, config, on),
    )
