"""Routes of the policies (decrees) and the locality's rules."""

from __future__ import annotations

from fastapi import APIRouter

from services.insurance import queries
from services.insurance.api.deps import Rules
from services.insurance.schemas import LocalRulesOut, PolicyOut
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["insurance"])


@router.get("/policies", response_model=list[PolicyOut])
async def list_policies(principal: CurrentPrincipal) -> list[PolicyOut]:
    """The health-insurance policies (decrees) with their groups, shares and validity."""
    return queries.policies()


@router.get("/rules", response_model=LocalRulesOut)
async def read_local_rules(principal: CurrentPrincipal, rules: Rules) -> LocalRulesOut:
    """What this locality configured: poor communes, shares, grace, validity, standard."""
    return queries.local_rules(rules)
