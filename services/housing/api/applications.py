"""Housing API: applications with their eligibility decision, what the service knows of a
household, and the programme policies. Lists are in `lists_api`, loans in `loans_api`."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import (
    POLICIES,
    EligibilityFacts,
    HouseCondition,
    PriorityFlags,
    ProgrammePolicy,
    UnknownPolicy,
    assess_eligibility,
    policy_for,
    priority_group,
)
from services.housing.events import (
    HousingApplied,
    HousingRefused,
)
from services.housing.models import Application, KnownHousehold, platform
from services.housing.operations import (
    application_view,
    get_application,
    get_known_household,
    has_open_application,
    listed_class,
    own_support_year,
)
from services.housing.schemas import (
    ApplicationIn,
    ApplicationOut,
    HouseholdFactsOut,
)
from shared.auth import CurrentPrincipal, authorize_read, authorize_write, readable_communes
from shared.events import EventPayload
from shared.outbox import append_events
from shared.problems import Conflict, RuleViolation
from shared.service import SessionDep

SERVICE = "housing"
router = APIRouter(tags=["housing"])


def _policy_on(on: date, field: str) -> ProgrammePolicy:
    try:
        return policy_for(on)
    except UnknownPolicy as exc:
        raise RuleViolation(str(exc), field=field) from exc


async def _eligibility_facts(
    session: AsyncSession, household: KnownHousehold, body: ApplicationIn
) -> EligibilityFacts:
    """What the rules judge: the service's own records plus what the officer verified."""
    own_year = await own_support_year(session, household.id)
    supported = [y for y in (body.prior_support_year, own_year) if y]
    return EligibilityFacts(
        applied_on=body.applied_on,
        listed_class=await listed_class(session, household.id, body.applied_on),
        independent_since_year=household.independent_since_year,
        house_condition=HouseCondition(body.house_condition),
        floor_area_m2=body.floor_area_m2,
        residents=body.residents,
        prior_support_year=max(supported) if supported else None,
        house_destroyed_by_disaster=body.house_destroyed_by_disaster,
    )


def _decision_events(application: Application) -> list[EventPayload]:
    """housing_applied, and housing_refused naming each failed rule when it was refused."""
    events: list[EventPayload] = [
        HousingApplied(
            application_id=application.id,
            household_id=application.household_id,
            commune_code=application.commune_code,
            applied_on=application.applied_on,
            programme_code=application.programme_code,
            house_condition=application.house_condition,
            priority_group=application.priority_group,
            amount_requested=application.amount_requested,
            eligible=application.status == "eligible",
        )
    ]
    if application.status == "refused":
        events.append(
            HousingRefused(
                application_id=application.id,
                household_id=application.household_id,
                commune_code=application.commune_code,
                applied_on=application.applied_on,
                refused_on=application.applied_on,
                programme_code=application.programme_code,
                failed_rules=application.failed_rules,
                reasons=application.reasons,
            )
        )
    return events


@router.post("/applications", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut)
async def apply_for_support(
    body: ApplicationIn, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationOut:
    """Receive a household's application and decide eligibility; a refusal names each rule."""
    async with session.begin():
        household = await get_known_household(session, body.household_id)
        authorize_write(principal, SERVICE, household.commune_code)
        policy = _policy_on(body.applied_on, "body.applied_on")
        if body.amount_requested > policy.max_loan:
            raise RuleViolation(
                f"{policy.code} lends at most {policy.max_loan} đồng",
                field="body.amount_requested",
            )
        if await has_open_application(session, household.id):
            raise Conflict(f"household {household.id} already has an open housing application")
        facts = await _eligibility_facts(session, household, body)
        failures = assess_eligibility(policy, facts)
        application = Application(
            id=str(uuid.uuid4()),
            household_id=household.id,
            commune_code=household.commune_code,
            programme_code=policy.code,
            priority_group=int(priority_group(PriorityFlags(**body.priority.model_dump()))),
            priority_flags=body.priority.model_dump(),
            listed_class=facts.listed_class,
            status="refused" if failures else "eligible",
            failed_rules=[str(f.rule) for f in failures],
            reasons=[f.reason for f in failures],
            **body.model_dump(exclude={"household_id", "priority"}),
        )
        session.add(application)
        events = _decision_events(application)
        await append_events(session, platform, [(e, application.id) for e in events])
    return await application_view(session, application)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
async def read_application(
    application_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationOut:
    """One application with its decision, list and loan."""
    application = await get_application(session, application_id)
    authorize_read(principal, SERVICE, application.commune_code)
    return await application_view(session, application)


@router.get("/applications", response_model=list[ApplicationOut])
async def list_applications(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern=r"^(eligible|refused|listed|approved)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApplicationOut]:
    """Applications the caller may read, oldest first."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Application).order_by(Application.applied_on, Application.id).limit(limit)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Application.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Application.commune_code == commune_code)
    if status_:
        query = query.where(Application.status == status_)
    rows = (await session.execute(query)).scalars().all()
    return [await application_view(session, a) for a in rows]


@router.get("/households/{household_id}", response_model=HouseholdFactsOut)
async def household_facts(
    household_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    on: Annotated[date | None, Query(description="list membership on this date; today")] = None,
) -> HouseholdFactsOut:
    """What households events told this service about a household, and its listed class."""
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


@router.get("/programme-policies")
async def list_policies(principal: CurrentPrincipal) -> list[dict[str, object]]:
    """The housing-support programmes with their validity, eligible classes and loan terms."""
    return [
        {**asdict(p), "eligible_classes": sorted(p.eligible_classes), "notes": list(p.notes)}
        for p in POLICIES
    ]
