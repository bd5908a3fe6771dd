"""Routes of the commune's approval list: ranked by priority group, posted publicly for the
configured working days, then approved within the commune's yearly quota (each approval
opens a loan)."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.housing import commands, queries
from services.housing.api.deps import ListRules
from services.housing.schemas import ApprovalIn, ApprovalListOut, ListIn
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["approval lists"])


@router.post(
    "/communes/{commune_code}/approval-lists",
    status_code=status.HTTP_201_CREATED,
    response_model=ApprovalListOut,
)
async def post_approval_list(
    commune_code: str,
    body: ListIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: ListRules,
) -> ApprovalListOut:
    """Rank the commune's eligible applications by priority group and post the list publicly."""
    return await commands.post_approval_list(session, principal, commune_code, body, rules)


@router.get("/approval-lists/{list_id}", response_model=ApprovalListOut)
async def read_approval_list(
    list_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ApprovalListOut:
    """A posted or approved list with each application's rank and outcome."""
    return await queries.read_approval_list(session, principal, list_id)


@router.post("/approval-lists/{list_id}/approval", response_model=ApprovalListOut)
async def approve_list(
    list_id: str,
    body: ApprovalIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: ListRules,
) -> ApprovalListOut:
    """Approve a posted list after its posting period: the best-ranked within the quota."""
    return await commands.approve_list(session, principal, list_id, body, rules)
