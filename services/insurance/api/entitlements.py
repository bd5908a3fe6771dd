"""Routes of entitlements an operator records from a decision."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.insurance import commands
from services.insurance.api.deps import Rules, today
from services.insurance.queries import entitlement_out
from services.insurance.schemas import EntitlementEndIn, EntitlementIn, EntitlementOut
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["insurance"])


@router.post(
    "/persons/{person_id}/entitlements",
    status_code=status.HTTP_201_CREATED,
    response_model=EntitlementOut,
)
async def record_entitlement(
    person_id: str,
    body: EntitlementIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: Rules,
) -> EntitlementOut:
    """Record an entitlement an operator knows from a decision (allowance, area, merit)."""
    entitlement = await commands.record_entitlement(session, principal, person_id, body, rules)
    return entitlement_out(entitlement, today())


@router.post("/entitlements/{entitlement_id}/end", response_model=EntitlementOut)
async def end_recorded_entitlement(
    entitlement_id: str, body: EntitlementEndIn, principal: CurrentPrincipal, session: SessionDep
) -> EntitlementOut:
    """End an operator-recorded entitlement; cards left without entitlement are revoked."""
    entitlement = await commands.end_recorded_entitlement(
        session, principal, entitlement_id, body, today()
    )
    return entitlement_out(entitlement, today())
