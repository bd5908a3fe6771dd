"""Review rows the write path and the reads share: a review and its listed households, the
class the review gives each of them, its open complaints and recognition blockers, and the
households and cases an officer may change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.models import (
    Application,
    Assessment,
    Complaint,
    Household,
    Review,
    ReviewHousehold,
    ReviewMeeting,
)
from services.households.review.domain import ReviewConfig, recognition_blockers
from services.households.settings import SERVICE
from shared.auth import Principal, authorize_write
from shared.problems import Conflict, NotFound, RuleViolation


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


async def writable_household(
    session: AsyncSession, principal: Principal, household_id: str, field: str
) -> Household:
    """The household, locked, when the caller may change it; 422 naming `field` if unknown."""
    household = await session.get(Household, household_id, with_for_update=True)
    if household is None:
        raise RuleViolation(f"household {household_id} does not exist", field=field)
    authorize_write(principal, SERVICE, household.commune_code)
    return household


#: The cases an officer decides: open until decided (applications) or resolved (complaints).
CaseT = TypeVar("CaseT", Application, Complaint)


async def open_case(
    session: AsyncSession,
    principal: Principal,
    model: type[CaseT],
    case_id: str,
    *,
    kind: str,
    closed: Callable[[CaseT], str],
) -> CaseT:
    """The application or complaint, locked, when the caller may change it and it is still
    open: 404 when it does not exist, 403 outside the caller's communes, 409 when closed
    (`closed` says how, e.g. "was decided on 2025-03-01")."""
    case = await session.get(model, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"{kind} {case_id} does not exist")
    authorize_write(principal, SERVICE, case.commune_code)
    if case.status != "open":
        raise Conflict(f"{kind} {case.id} {closed(case)}")
    return case
