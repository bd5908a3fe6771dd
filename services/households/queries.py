"""Reads of the households registry: households, assessments, standards, poverty rates.

No writes and no events (the audited personal-data read is a command).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.classification import classification
from services.households.domain import STANDARDS
from services.households.models import Assessment, CommuneClassCount, Household, Person
from services.households.records import get_household
from services.households.schemas import (
    AssessmentOut,
    ClassificationOut,
    ClassifyIn,
    HouseholdOut,
    HouseholdPage,
    PovertyRatesOut,
)
from services.households.settings import SERVICE
from services.households.views import assessment_view, household_view
from shared.auth import Principal, authorize_read, readable_communes


async def list_households(
    session: AsyncSession,
    principal: Principal,
    *,
    commune_code: str | None,
    poverty_class: str | None,
    after: str | None,
    limit: int,
) -> HouseholdPage:
    """Households the caller may read, in id order, a page at a time."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Household).order_by(Household.id).limit(limit)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Household.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Household.commune_code == commune_code)
    if poverty_class:
        query = query.where(Household.poverty_class == poverty_class)
    if after:
        query = query.where(Household.id > after)
    households = (await session.execute(query)).scalars().all()
    members: dict[str, list[Person]] = {h.id: [] for h in households}
    if households:
        rows = await session.execute(
            select(Person)
            .where(Person.household_id.in_(list(members)))
            .order_by(Person.created_at, Person.id)
        )
        for person in rows.scalars():
            members[person.household_id].append(person)
    items = [household_view(h, members[h.id]) for h in households]
    return HouseholdPage(
        items=items, next_cursor=items[-1].household_id if len(items) == limit else None
    )


async def readable_household(
    session: AsyncSession, principal: Principal, household_id: str
) -> Household:
    """The household when the caller may read it (404, 403 otherwise)."""
    household = await get_household(session, household_id)
    authorize_read(principal, SERVICE, household.commune_code)
    return household


async def read_household(
    session: AsyncSession, principal: Principal, household_id: str
) -> HouseholdOut:
    """One household with its members (pseudonymised)."""
    household = await readable_household(session, principal, household_id)
    persons = (
        (
            await session.execute(
                select(Person)
                .where(Person.household_id == household_id)
                .order_by(Person.created_at, Person.id)
            )
        )
        .scalars()
        .all()
    )
    return household_view(household, persons)


async def list_assessments(
    session: AsyncSession, principal: Principal, household_id: str
) -> list[AssessmentOut]:
    """A household's assessments, oldest first."""
    await readable_household(session, principal, household_id)
    rows = (
        (
            await session.execute(
                select(Assessment)
                .where(Assessment.household_id == household_id)
                .order_by(Assessment.assessed_on, Assessment.created_at)
            )
        )
        .scalars()
        .all()
    )
    return [assessment_view(a) for a in rows]


def list_standards() -> list[dict[str, object]]:
    """The poverty standards with their lines, indicators and validity."""
    return [
        {
            "code": s.code,
            "title": s.title,
            "valid_from": s.valid_from,
            "valid_to": s.valid_to,
            "poverty_line": s.poverty_line,
            "near_poverty_line": s.near_poverty_line,
            "indicators": list(s.indicators),
            "deprivation_threshold": s.deprivation_threshold,
            "notes": list(s.notes),
        }
        for s in STANDARDS
    ]


def classify_inputs(body: ClassifyIn) -> ClassificationOut:
    """Classify inputs without recording anything (what-if for officers and auditors)."""
    result = classification(
        body.standard_code,
        body.on,
        body.area,
        body.income_per_person_month,
        body.deprived_indicators,
    )
    return ClassificationOut(
        standard_code=result.standard_code,
        poverty_class=str(result.poverty_class),
        deprivation_count=result.deprivation_count,
        deprived_indicators=list(result.deprived_indicators),
        reasons=list(result.reasons),
    )


async def poverty_rates(
    session: AsyncSession, principal: Principal, commune_code: str
) -> PovertyRatesOut:
    """Recognised poor and near-poor rates of a commune (from reclassification events)."""
    authorize_read(principal, SERVICE, commune_code)
    total = (
        await session.execute(
            select(func.count())
            .select_from(Household)
            .where(Household.commune_code == commune_code)
        )
    ).scalar_one()
    counts = dict(
        (
            await session.execute(
                select(CommuneClassCount.poverty_class, CommuneClassCount.households).where(
                    CommuneClassCount.commune_code == commune_code
                )
            )
        ).all()
    )
    poor, near_poor = counts.get("poor", 0), counts.get("near_poor", 0)
    return PovertyRatesOut(
        commune_code=commune_code,
        households=total,
        poor=poor,
        near_poor=near_poor,
        poor_rate_percent=round(100 * poor / total, 2) if total else 0.0,
        near_poor_rate_percent=round(100 * near_poor / total, 2) if total else 0.0,
    )
