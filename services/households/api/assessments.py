"""Routes of surveys and classification: a household's assessments, the poverty standards,
the what-if classification and a commune's poverty rates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from services.households import commands, queries
from services.households.schemas import (
    COMMUNE_CODE_PATTERN,
    AssessmentIn,
    AssessmentOut,
    ClassificationOut,
    ClassifyIn,
    PovertyRatesOut,
)
from shared.auth import CurrentPrincipal
from shared.problems import problem_responses
from shared.service import ResourceId, SessionDep

router = APIRouter(tags=["households"])


@router.post(
    "/households/{household_id}/assessments",
    status_code=status.HTTP_201_CREATED,
    response_model=AssessmentOut,
    responses=problem_responses(403, 404),
)
async def assess_household(
    household_id: ResourceId, body: AssessmentIn, principal: CurrentPrincipal, session: SessionDep
) -> AssessmentOut:
    """Record a survey: income and deprivations, classified by the standard in force."""
    return await commands.assess_household(session, principal, household_id, body)


@router.get(
    "/households/{household_id}/assessments",
    response_model=list[AssessmentOut],
    responses=problem_responses(403, 404),
)
async def list_assessments(
    household_id: ResourceId, principal: CurrentPrincipal, session: SessionDep
) -> list[AssessmentOut]:
    """A household's assessments, oldest first."""
    return await queries.list_assessments(session, principal, household_id)


@router.get("/standards")
async def list_standards(principal: CurrentPrincipal) -> list[dict[str, object]]:
    """The poverty standards with their lines, indicators and validity."""
    return queries.list_standards()


@router.post("/classify", response_model=ClassificationOut)
async def classify_inputs(body: ClassifyIn, principal: CurrentPrincipal) -> ClassificationOut:
    """Classify inputs without recording anything (what-if for officers and auditors)."""
    return queries.classify_inputs(body)


@router.get(
    "/communes/{commune_code}/poverty-rates",
    response_model=PovertyRatesOut,
    responses=problem_responses(403),
)
async def poverty_rates(
    commune_code: Annotated[str, Path(pattern=COMMUNE_CODE_PATTERN)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> PovertyRatesOut:
    """Recognised poor and near-poor rates of a commune (from reclassification events)."""
    return await queries.poverty_rates(session, principal, commune_code)
