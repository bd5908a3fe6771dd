"""Routes of the three worklists: uncarded, to revoke, duplicates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.insurance.api.deps import CommuneQuery, OnQuery, Rules, today
from services.insurance.cards import queries
from services.insurance.schemas import DuplicateOut, ToRevokeOut, UncardedPage
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["insurance"])


@router.get("/worklists/uncarded", response_model=UncardedPage)
async def uncarded_worklist(
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: Rules,
    commune_code: CommuneQuery = None,
    on: OnQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> UncardedPage:
    """Entitled persons without an active card, longest wait first, overdue flagged."""
    return await queries.uncarded_page(
        session, principal, on or today(), rules, commune_code=commune_code, limit=limit
    )


@router.get("/worklists/to-revoke", response_model=list[ToRevokeOut])
async def to_revoke_worklist(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    on: OnQuery = None,
) -> list[ToRevokeOut]:
    """Active cards whose holder has no current entitlement (to revoke)."""
    return await queries.to_revoke(session, principal, on or today(), commune_code=commune_code)


@router.get("/worklists/duplicates", response_model=list[DuplicateOut])
async def duplicates_worklist(
    principal: CurrentPrincipal, session: SessionDep, commune_code: CommuneQuery = None
) -> list[DuplicateOut]:
    """Persons holding more than one card reported active (one came from a partner import)."""
    return await queries.duplicates(session, principal, commune_code=commune_code)
