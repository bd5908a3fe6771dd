"""Reads of applications, households, programme policies and approval lists (no writes, no
events); each authorises the caller for the commune it reads."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import POLICIES
from services.housing.models import Application
from services.housing.records import (
    get_application,
    get_approval_list,
    get_known_household,
    listed_class,
)
from services.housing.schemas import ApplicationOut, ApprovalListOut, HouseholdFactsOut
from services.housing.settings import SERVICE
from services.housing.views import application_view, approval_list_view
from shared.auth import Principal, authorize_read, readable_communes


async def read_application(
    session: AsyncSession, principal: Principal, application_id: str
) -> ApplicationOut:
    """One application with its decision, list and loan."""
    application = await get_application(session, application_id)
    authorize_read(principal, SERVICE, application.commune_code)
    return await application_view(session, application)


async def list_applications(
    session: AsyncSession,
    principal: Principal,
    commune_code: str | None,
    status: str | None,
    limit: int,
) -> list[ApplicationOut]:
    """Applications the caller may read (of ``commune_code`` and ``status`` when given),
    oldest first, at most ``limit``."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Application).order_by(Application.applied_on, Application.id).limit(limit)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Application.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Application.commune_code == commune_code)
    if status:
        query = query.where(Application.status == status)
    rows = (await session.execute(query)).scalars().all()
    return [await application_view(session, a) for a in rows]


async def household_facts(
    session: AsyncSession, principal: Principal, household_id: str, on: date | None
) -> HouseholdFactsOut:
    """What households events told this service about a household, and its listed class on
    ``on`` (today by default)."""
    household = await get_known_household(session, household_id)
    authorize_read(principal, SERVICE, household.commune_code)
    day = on or date.today()
    return HouseholdFactsOut(
        household_id=household.id,
        commune_code=household.commune_code,
        independent_since_year=household.independent_since_year,
        current_class=household.current_class,
        listed_class_on=day,
        listed_class=await listed_class(session, household.id, day),
    )


def programme_policies() -> list[dict[str, object]]:
    """The housing-support programmes with their validity, eligible classes and loan terms."""
    return [
        {**asdict(p), "eligible_classes": sorted(p.eligible_classes), "notes": list(p.notes)}
        for p in POLICIES
    ]


async def read_approval_list(
    session: AsyncSession, principal: Principal, list_id: str
) -> ApprovalListOut:
    """A posted or approved list with each application's rank and outcome."""
    approval_list = await get_approval_list(session, list_id)
    authorize_read(principal, SERVICE, approval_list.commune_code)
    return await approval_list_view(session, approval_list)
