"""The ways a household's class changes outside the periodic review: a regular review on
application (monthly) and a voluntary registration to leave poverty.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.commands import reclassify
from services.households.domain import PovertyClass
from services.households.events import ApplicationDecided, ApplicationReceived, EscapeRegistered
from services.households.models import Application, Assessment, Household, platform
from services.households.records import get_household
from services.households.review.domain import (
    ReviewConfig,
    application_decision_due,
    can_register_escape,
    fall_into_poverty_due,
)
from services.households.review.records import open_case, writable_household
from services.households.review.schemas import (
    ApplicationIn,
    ApplicationOut,
    DecisionIn,
    EscapeIn,
    EscapeOut,
)
from services.households.review.views import application_view
from services.households.settings import SERVICE
from shared.auth import Principal, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict, RuleViolation

# Recorded classes by name; "unclassified" is absent, so it can never register an escape.
_ESCAPE_FROM = {poverty_class.value: poverty_class for poverty_class in PovertyClass}


async def register_escape(
    session: AsyncSession, principal: Principal, household_id: str, body: EscapeIn
) -> EscapeOut:
    """A poor or near-poor household registers voluntarily to leave poverty."""
    async with session.begin():
        household = await get_household(session, household_id, for_update=True)
        authorize_write(principal, SERVICE, household.commune_code)
        from_class = household.poverty_class
        if from_class not in _ESCAPE_FROM or not can_register_escape(_ESCAPE_FROM[from_class]):
            raise RuleViolation(
                f"household is {from_class}: only poor and near-poor households "
                "register to leave poverty"
            )
        if household.class_since is not None and body.registered_on < household.class_since:
            raise RuleViolation(
                f"registered_on {body.registered_on.isoformat()} is before the "
                f"household became {from_class} "
                f"({household.class_since.isoformat()})",
                field="body.registered_on",
            )
        await append_event(
            session,
            platform,
            EscapeRegistered(
                household_id=household.id,
                commune_code=household.commune_code,
                registered_on=body.registered_on,
                from_class=from_class,
            ),
            household.id,
        )
        await reclassify(
            session,
            household,
            to_class=PovertyClass.NOT_POOR.value,
            standard_code=household.class_standard_code,
            reasons=[f"registered voluntarily to leave poverty on {body.registered_on}"],
            effective_date=body.registered_on,
            basis="voluntary_escape",
        )
    return EscapeOut(
        household_id=household.id,
        registered_on=body.registered_on,
        from_class=from_class,
        to_class=household.poverty_class,
    )


async def receive_application(
    session: AsyncSession, principal: Principal, body: ApplicationIn, config: ReviewConfig
) -> ApplicationOut:
    """Receive a regular-review application; due_on is when its decision is due."""
    async with session.begin():
        household = await writable_household(
            session, principal, body.household_id, "body.household_id"
        )
        if body.received_on < household.registered_on:
            raise RuleViolation(
                f"received_on {body.received_on.isoformat()} is before the "
                f"household was registered ({household.registered_on.isoformat()})",
                field="body.received_on",
            )
        waiting = (
            await session.execute(
                select(Application.id).where(
                    Application.household_id == household.id, Application.status == "open"
                )
            )
        ).scalar()
        if waiting is not None:
            raise Conflict(
                f"household {household.id} already has application {waiting} awaiting a decision"
            )
        if body.kind == "fall_into_poverty":
            due_on = fall_into_poverty_due(config.policy, body.received_on, config.holidays)
        else:
            due_on = application_decision_due(config.policy, body.received_on)
        application = Application(
            id=str(uuid.uuid4()),
            household_id=household.id,
            commune_code=household.commune_code,
            kind=body.kind,
            received_on=body.received_on,
            due_on=due_on,
            status="open",
        )
        session.add(application)
        await append_event(
            session,
            platform,
            ApplicationReceived(
                application_id=application.id,
                household_id=household.id,
                commune_code=household.commune_code,
                kind=body.kind,
                received_on=body.received_on,
                due_on=due_on,
            ),
            household.id,
        )
    return application_view(application, date.today())


async def decide_application(
    session: AsyncSession, principal: Principal, application_id: str, body: DecisionIn
) -> ApplicationOut:
    """Approve an application (the household takes the assessment's class) or refuse it."""
    async with session.begin():
        application = await open_case(
            session,
            principal,
            Application,
            application_id,
            kind="application",
            closed=lambda decided: f"was decided on {decided.decided_on}",
        )
        if body.decided_on < application.received_on:
            raise RuleViolation(
                f"decided_on {body.decided_on.isoformat()} is before the "
                f"application was received ({application.received_on.isoformat()})",
                field="body.decided_on",
            )
        assessment = await _deciding_assessment(session, application, body)
        application.status, application.decided_on = "decided", body.decided_on
        application.outcome, application.reason = body.outcome, body.reason
        application.assessment_id = body.assessment_id
        await append_event(
            session,
            platform,
            ApplicationDecided(
                application_id=application.id,
                household_id=application.household_id,
                commune_code=application.commune_code,
                received_on=application.received_on,
                decided_on=body.decided_on,
                due_on=application.due_on,
                outcome=body.outcome,
                on_time=body.decided_on <= application.due_on,
            ),
            application.household_id,
        )
        if body.outcome == "approved" and assessment is not None:
            household = await session.get_one(
                Household, application.household_id, with_for_update=True
            )
            await reclassify(
                session,
                household,
                to_class=assessment.recorded_class,
                standard_code=assessment.standard_code,
                reasons=assessment.reasons,
                effective_date=body.decided_on,
                basis="regular_review",
                assessment_id=assessment.id,
            )
    return application_view(application, date.today())


async def _deciding_assessment(
    session: AsyncSession, application: Application, body: DecisionIn
) -> Assessment | None:
    """The assessment named by the decision: 422 unless it surveyed this household between the
    application and the decision."""
    if body.assessment_id is None:
        return None
    assessment = await session.get(Assessment, body.assessment_id)
    if assessment is None or assessment.household_id != application.household_id:
        raise RuleViolation(
            f"assessment {body.assessment_id} is not an assessment of household "
            f"{application.household_id}",
            field="body.assessment_id",
        )
    if not application.received_on <= assessment.assessed_on <= body.decided_on:
        raise RuleViolation(
            f"assessment of {assessment.assessed_on.isoformat()} is not between "
            f"the application ({application.received_on.isoformat()}) and the "
            "decision",
            field="body.assessment_id",
        )
    return assessment
