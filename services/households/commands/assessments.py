"""Recording a survey (assessment): one set of rules for the API and the bulk import.

:func:`assess` decides — the review's stage, the standard, the class, the override — and
builds the row and its event without touching the database; :func:`record_assessments`
writes any number of them in the caller's transaction (one multi-row insert, one outbox
append). ``POST /households/{id}/assessments`` records one, ``POST /imports/assessments``
a chunk at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.classification import classification
from services.households.domain import standard_by_code
from services.households.events import HouseholdAssessed
from services.households.models import Assessment, Household, Review, platform
from services.households.records import get_household
from services.households.review.domain import ReviewStage
from services.households.schemas import AssessmentIn, AssessmentOut
from services.households.settings import SERVICE
from services.households.views import assessment_view
from shared.auth import Principal, authorize_write
from shared.bulk import column_values
from shared.outbox import append_events
from shared.problems import RuleViolation

#: Stages of a review after which its surveys are closed.
_CLOSED_STAGES = (ReviewStage.POSTED.value, ReviewStage.RECOGNISED.value)


def _check_review(review_id: str | None, review: Review | None, household: Household) -> None:
    if review_id is None:
        return
    if review is None or review.id != review_id or review.commune_code != household.commune_code:
        raise RuleViolation(
            "review does not exist in the household's commune", field="body.review_id"
        )
    if review.stage in _CLOSED_STAGES:
        raise RuleViolation(f"review is {review.stage}: surveys are closed", field="body.review_id")


@dataclass(frozen=True, slots=True)
class Assessed:
    """A decided survey: the row to insert, its event, and the review it belongs to."""

    assessment: Assessment
    event: HouseholdAssessed
    review: Review | None


def assess(
    household: Household,
    review: Review | None,
    body: AssessmentIn,
    *,
    external_ref: str | None = None,
) -> Assessed:
    """Classify ``body`` for ``household`` (``review``: the one ``body.review_id`` names, as
    loaded, or None). Raises :class:`RuleViolation` naming the field at fault; writes nothing.
    The caller has authorised the write in the household's commune."""
    _check_review(body.review_id, review, household)
    result = classification(
        body.standard_code,
        body.assessed_on,
        household.area,
        body.income_per_person_month,
        body.deprived_indicators,
    )
    computed = str(result.poverty_class)
    recorded = body.recorded_class or computed
    assessment = Assessment(
        id=str(uuid.uuid4()),
        household_id=household.id,
        review_id=body.review_id,
        assessed_on=body.assessed_on,
        standard_code=result.standard_code,
        area=household.area,
        income_per_person_month=body.income_per_person_month,
        indicators_assessed=list(standard_by_code(result.standard_code).indicators),
        deprived_indicators=list(result.deprived_indicators),
        computed_class=computed,
        recorded_class=recorded,
        override_reason=body.override_reason,
        reasons=list(result.reasons),
        external_ref=external_ref,
    )
    event = HouseholdAssessed(
        assessment_id=assessment.id,
        household_id=household.id,
        commune_code=household.commune_code,
        review_id=body.review_id,
        assessed_on=body.assessed_on,
        standard_code=result.standard_code,
        area=household.area,
        income_per_person_month=body.income_per_person_month,
        indicators_assessed=assessment.indicators_assessed,
        deprived_indicators=assessment.deprived_indicators,
        computed_class=computed,
        recorded_class=recorded,
        override_reason=body.override_reason,
        reasons=assessment.reasons,
    )
    return Assessed(assessment, event, review if body.review_id is not None else None)


async def record_assessments(session: AsyncSession, assessed: Sequence[Assessed]) -> None:
    """Insert the assessments and append their household_assessed events, in the caller's
    transaction; a review still listing moves on to surveying with its first survey."""
    if not assessed:
        return
    await session.execute(insert(Assessment), column_values([a.assessment for a in assessed]))
    await append_events(session, platform, [(a.event, a.event.household_id) for a in assessed])
    for item in assessed:
        if item.review is not None and item.review.stage == ReviewStage.LISTING.value:
            item.review.stage = ReviewStage.SURVEYING.value


async def assess_household(
    session: AsyncSession, principal: Principal, household_id: str, body: AssessmentIn
) -> AssessmentOut:
    """Record one survey of the household, classified by the standard in force."""
    async with session.begin():
        household = await get_household(session, household_id)
        authorize_write(principal, SERVICE, household.commune_code)
        review = await session.get(Review, body.review_id) if body.review_id else None
        assessed = assess(household, review, body)
        await record_assessments(session, [assessed])
    return assessment_view(assessed.assessment)
