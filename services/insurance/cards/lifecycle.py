"""How cards follow entitlements over time: revoke cards left without an entitlement, and the
periodic sweep applying what the passing of days changes (6th birthdays, graces run out,
validity ended).

Works inside the caller's transaction; events go to ``out``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.insurance.cards.changes import expire_card, revoke_card
from services.insurance.cards.domain import CardStatus
from services.insurance.entitlements import Outbox, current_clause, end_entitlement
from services.insurance.models import Card, Entitlement


async def follow_entitlements(
    session: AsyncSession,
    person_ids: Sequence[str],
    on: date,
    out: Outbox,
    *,
    caused_by_event_id: str | None = None,
) -> int:
    """Revoke the active cards of those of ``person_ids`` with no entitlement current on ``on``.

    Returns how many cards were revoked.
    """
    if not person_ids:
        return 0
    uncovered = await session.execute(
        select(Card).where(
            Card.person_id.in_(list(person_ids)),
            Card.status == CardStatus.ACTIVE,
            ~exists().where(Entitlement.person_id == Card.person_id, current_clause(on)),
        )
    )
    revoked = 0
    for card in uncovered.scalars():
        ended = (
            await session.execute(
                select(Entitlement)
                .where(Entitlement.person_id == card.person_id, Entitlement.ends_on <= on)
                .order_by(Entitlement.ends_on.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        reason = (
            f"entitlement {ended.group} ended on {ended.ends_on}: {ended.end_reason}"
            if ended is not None and ended.ends_on is not None
            else "no current entitlement"
        )
        revoke_card(
            card,
            on,
            reason,
            out,
            entitlement_id=ended.id if ended else None,
            caused_by_event_id=caused_by_event_id or (ended.ended_by_event_id if ended else None),
        )
        revoked += 1
    return revoked


@dataclass
class SweepResult:
    on: date
    entitlements_ended: int = 0
    cards_expired: int = 0
    cards_revoked: int = 0


async def sweep(session: AsyncSession, on: date, out: Outbox) -> SweepResult:
    """What the passing of time changes by ``on``.

    Entitlements reaching an end known when they were granted (a child's 6th birthday, an
    operator's end date) end; active cards past their validity expire; active cards whose
    holder has no entitlement current on ``on`` (a grace that ran out) are revoked.
    """
    result = SweepResult(on)
    due = await session.execute(
        select(Entitlement).where(
            Entitlement.end_reason.is_(None),
            Entitlement.ends_on.is_not(None),
            Entitlement.ends_on <= on,
        )
    )
    for entitlement in due.scalars():
        assert entitlement.ends_on is not None
        reason = (
            f"turned 6 on {entitlement.ends_on.isoformat()}"
            if entitlement.group == "child_under_6"
            else f"reached the end date set when granted ({entitlement.ends_on.isoformat()})"
        )
        end_entitlement(entitlement, entitlement.ends_on, reason, out)
        result.entitlements_ended += 1
    expired = await session.execute(
        select(Card).where(Card.status == CardStatus.ACTIVE, Card.valid_to < on)
    )
    for card in expired.scalars():
        expire_card(card, out)
        result.cards_expired += 1
    await session.flush()
    uncovered = await session.execute(
        select(Card.person_id).where(
            Card.status == CardStatus.ACTIVE,
            ~exists().where(Entitlement.person_id == Card.person_id, current_clause(on)),
        )
    )
    result.cards_revoked = await follow_entitlements(session, list(uncovered.scalars()), on, out)
    return result
