"""Route of the audited personal-data read: every read is published as personal_data_read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.households import commands
from services.households.schemas import PersonalDataOut
from shared.auth import CurrentPrincipal
from shared.problems import problem_responses
from shared.service import ResourceId, SessionDep

router = APIRouter(tags=["households"])


@router.get(
    "/persons/{person_id}/personal-data",
    response_model=PersonalDataOut,
    responses=problem_responses(403, 404),
)
async def read_personal_data(
    person_id: ResourceId,
    principal: CurrentPrincipal,
    session: SessionDep,
    purpose: Annotated[
        str, Query(min_length=3, max_length=200, description="why the data is needed")
    ],
) -> PersonalDataOut:
    """Name, citizen ID and address of one person. Every read is recorded as an event."""
    return await commands.read_personal_data(session, principal, person_id, purpose)
