"""Reads of the review process: reviews, applications and complaints (no writes, no events)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.models import (
    Application,
    Complaint,
    Household,
    Review,
    ReviewHousehold,
    ReviewMeeting,
)
from services.households.review.domain import ReviewConfig
from services.households.review.records import blockers_on, get_review, review_classes
from services.households.review.schemas import (
    ApplicationOut,
    ComplaintOut,
    ListedHouseholdOut,
    ReviewOut,
    ReviewSummaryOut,
)
from services.households.review.views import (
    application_view,
    complaint_view,
    meeting_view,
    review_summary,
)
from services.households.settings import SERVICE
from shared.auth import Principal, authorize_read, readable_communes


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


async def read_review(
    session: AsyncSession, principal: Principal, review_id: str, config: ReviewConfig, on: date
) -> ReviewOut:
    """A review with its households, meetings, complaints and recognition blockers on `on`."""
    review = await get_review(session, review_id)
    authorize_read(principal, SERVICE, review.commune_code)
    return await review_view(session, review, config, on)


async def list_reviews(
    session: AsyncSession, principal: Principal, commune_code: str | None, year: int | None
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


async def list_applications(
    session: AsyncSession,
    principal: Principal,
    commune_code: str | None,
    status: Literal["open", "decided"] | None,
    overdue: bool | None,
) -> list[ApplicationOut]:
    """Applications the caller may read: the worklist, oldest first."""
    authorize_read(principal, SERVICE, commune_code)
    today = date.today()
    query = select(Application).order_by(Application.received_on, Application.id)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Application.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Application.commune_code == commune_code)
    if status:
        query = query.where(Application.status == status)
    if overdue is True:
        query = query.where(Application.status == "open", Application.due_on < today)
    elif overdue is False:
        query = query.where((Application.status != "open") | (Application.due_on >= today))
    return [application_view(a, today) for a in (await session.execute(query)).scalars()]


async def list_complaints(
    session: AsyncSession,
    principal: Principal,
    commune_code: str | None,
    status: Literal["open", "resolved"] | None,
    review_id: str | None,
) -> list[ComplaintOut]:
    """Complaints the caller may read, oldest first."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Complaint).order_by(Complaint.filed_on, Complaint.id)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Complaint.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Complaint.commune_code == commune_code)
    if status:
        query = query.where(Complaint.status == status)
    if review_id:
        query = query.where(Complaint.review_id == review_id)
    today = date.today()
    return [complaint_view(c, today) for c in (await session.execute(query)).scalars()]
