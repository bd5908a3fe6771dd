"""Routes of insured persons."""

from __future__ import annotations

from fastapi import APIRouter

from services.insurance import queries
from services.insurance.api.deps import OnQuery, today
from services.insurance.schemas import PersonOut
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["insurance"])


@router.get("/persons/{person_id}", response_model=PersonOut)
async def read_person(
    person_id: str, principal: CurrentPrincipal, session: SessionDep, on: OnQuery = None
) -> PersonOut:
    """A person's entitlements (current or not on ``on``) and cards, pseudonymised."""
    return await queries.person(session, principal, person_id, on or today())
