"""Routes of what the service knows of a household (from households events)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.housing import queries
from services.housing.schemas import HouseholdFactsOut
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["housing"])


@router.get("/households/{household_id}", response_model=HouseholdFactsOut)
async def household_facts(
    household_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    on: Annotated[date | None, Query(description="list membership on this date; today")] = None,
) -> HouseholdFactsOut:
    """What households events told this service about a household, and its listed class."""
    return await queries.household_facts(session, principal, household_id, on)
