"""Routes of cards: issue, read, renew, revoke."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.insurance.api.deps import Rules, today
from services.insurance.cards import commands, queries
from services.insurance.cards.queries import card_out
from services.insurance.schemas import CardIn, CardOut, CardRenewalIn, CardRevocationIn
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["insurance"])


@router.post("/cards", status_code=status.HTTP_201_CREATED, response_model=CardOut)
async def record_card_issue(
    body: CardIn, principal: CurrentPrincipal, session: SessionDep, rules: Rules
) -> CardOut:
    """Issue a card to an entitled person; 409 if they already hold an active one."""
    card = await commands.issue(session, principal, body, rules, today())
    return card_out(card, show_number=True)


@router.get("/cards/{card_id}", response_model=CardOut)
async def read_card(card_id: str, principal: CurrentPrincipal, session: SessionDep) -> CardOut:
    """One card."""
    return await queries.card_view(session, principal, card_id)


@router.post(
    "/cards/{card_id}/renewal", status_code=status.HTTP_201_CREATED, response_model=CardOut
)
async def renew(
    card_id: str,
    body: CardRenewalIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: Rules,
) -> CardOut:
    """Replace an active card by a new one under the holder's best current entitlement."""
    new = await commands.renew(session, principal, card_id, body, rules, today())
    return card_out(new, show_number=True)


@router.post("/cards/{card_id}/revocation", response_model=CardOut)
async def revoke(
    card_id: str, body: CardRevocationIn, principal: CurrentPrincipal, session: SessionDep
) -> CardOut:
    """Withdraw an active or duplicate card (excess or duplicate found on a worklist)."""
    card = await commands.revoke(session, principal, card_id, body, today())
    return card_out(card, show_number=True)
