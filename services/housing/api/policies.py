"""Routes of the housing-support programme policies (versioned data)."""

from __future__ import annotations

from fastapi import APIRouter

from services.housing import queries
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["housing"])


@router.get("/programme-policies")
async def list_policies(principal: CurrentPrincipal) -> list[dict[str, object]]:
    """The housing-support programmes with their validity, eligible classes and loan terms."""
    return queries.programme_policies()
