"""Rows and counts the write path and the reads look up; each works inside the caller's
session (a missing row is a 404)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import ClassEntry, listed_class_on
from services.housing.models import (
    Application,
    ApprovalList,
    ApprovalListEntry,
    ClassChange,
    KnownHousehold,
    RecognisedReview,
)
from shared.problems import NotFound

#: Applications still waiting for a decision: a second one is refused with 409. An approved
#: one counts as prior support instead (repeat support after 8 years or a disaster).
OPEN_STATUSES = ("eligible", "listed")


async def get_known_household(session: AsyncSession, household_id: str) -> KnownHousehold:
    household = await session.get(KnownHousehold, household_id)
    if household is None:
        raise NotFound(
            f"household {household_id} is unknown to the housing service "
            "(no household_registered event received for it)"
        )
    return household


async def get_application(session: AsyncSession, application_id: str) -> Application:
    application = await session.get(Application, application_id)
    if application is None:
        raise NotFound(f"application {application_id} does not exist")
    return application


async def get_approval_list(session: AsyncSession, list_id: str) -> ApprovalList:
    approval_list = await session.get(ApprovalList, list_id)
    if approval_list is None:
        raise NotFound(f"approval list {list_id} does not exist")
    return approval_list


async def listed_class(session: AsyncSession, household_id: str, on: date) -> str | None:
    """The household's class on the commune list on ``on`` (see domain.listed_class_on)."""
    changes = (
        (await session.execute(select(ClassChange).where(ClassChange.household_id == household_id)))
        .scalars()
        .all()
    )
    review_ids = {c.review_id for c in changes if c.review_id}
    recognitions: dict[str, date] = {}
    if review_ids:
        rows = await session.execute(
            select(RecognisedReview.review_id, RecognisedReview.recognised_on).where(
                RecognisedReview.review_id.in_(review_ids)
            )
        )
        recognitions = {review_id: on for review_id, on in rows.all()}
    entries = [ClassEntry(c.seq, c.to_class, c.effective_date, c.review_id) for c in changes]
    return listed_class_on(entries, recognitions, on)


async def has_open_application(session: AsyncSession, household_id: str) -> bool:
    """Whether the household has an application still waiting for a decision."""
    return (
        await session.execute(
            select(Application.id).where(
                Application.household_id == household_id, Application.status.in_(OPEN_STATUSES)
            )
        )
    ).first() is not None


async def own_support_year(session: AsyncSession, household_id: str) -> int | None:
    """Year of the latest approval this service gave the household, if any."""
    latest = (
        await session.execute(
            select(func.max(Application.approved_on)).where(
                Application.household_id == household_id, Application.status == "approved"
            )
        )
    ).scalar_one_or_none()
    return latest.year if latest else None


async def approved_in_year(session: AsyncSession, commune_code: str, year: int) -> int:
    """Approvals already counted against the commune's quota for ``year``."""
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(ApprovalListEntry)
                .join(ApprovalList, ApprovalList.id == ApprovalListEntry.list_id)
                .where(
                    ApprovalList.commune_code == commune_code,
                    ApprovalList.year == year,
                    ApprovalListEntry.outcome == "approved",
                )
            )
        ).scalar_one()
    )
