"""Card changes: issue, record a VSS confirmation or renewal, renew, revoke, expire; and
the card lookups they need.

Like :mod:`services.insurance.entitlements`, each works inside the caller's transaction and
appends the events it causes to ``out``.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.insurance.cards.domain import (
    CardNumber,
    CardStatus,
    assert_card_transition,
    card_number_for,
    card_valid_to,
    waiting_since,
)
from services.insurance.domain.entitlements import best_entitlement, is_current
from services.insurance.domain.policies import InsuranceRuleViolation, LocalRules
from services.insurance.entitlements import Outbox, entitlement_view, entitlements_of
from services.insurance.events import CardExpired, CardIssued, CardRenewed, CardRevoked
from services.insurance.models import Card, InsuredPerson
from shared.problems import Conflict, NotFound, RuleViolation


async def get_card(session: AsyncSession, card_id: str) -> Card:
    """The card ``card_id``; NotFound (404) if there is none."""
    card = await session.get(Card, card_id)
    if card is None:
        raise NotFound(f"card {card_id} does not exist")
    return card


async def active_card(session: AsyncSession, person_id: str) -> Card | None:
    """The person's active card of record, if they hold one."""
    return (
        await session.execute(
            select(Card).where(Card.person_id == person_id, Card.status == CardStatus.ACTIVE)
        )
    ).scalar_one_or_none()


def _card_issued(card: Card, person: InsuredPerson) -> CardIssued:
    return CardIssued(
        card_id=card.id,
        person_id=person.id,
        commune_code=card.commune_code,
        citizen_pseudonym=person.citizen_pseudonym,
        object_code=card.object_code,
        benefit_level=card.benefit_level,
        valid_from=card.valid_from,
        valid_to=card.valid_to,
        issued_on=card.issued_on,
        source=card.source,
        entitlement_id=card.entitlement_id,
        entitled_since=card.entitled_since,
        duplicate_of_card_id=card.duplicate_of_card_id,
    )


async def _cards_ended_on(session: AsyncSession, person_id: str) -> list[date]:
    rows = await session.execute(
        select(Card.ended_on).where(Card.person_id == person_id, Card.ended_on.is_not(None))
    )
    return [d for d in rows.scalars() if d is not None]


def _social_insurance_number(person: InsuredPerson, given: str | None) -> str:
    number = given or person.social_insurance_number
    if number is None:
        raise RuleViolation(
            "the person has no social insurance number on record: give one",
            field="body.social_insurance_number",
        )
    if person.social_insurance_number not in (None, number):
        raise RuleViolation(
            "differs from the social insurance number on record for this person",
            field="body.social_insurance_number",
        )
    return number


async def issue_card(
    session: AsyncSession,
    person: InsuredPerson,
    *,
    social_insurance_number: str | None,
    valid_from: date,
    issued_on: date,
    rules: LocalRules,
    out: Outbox,
) -> Card:
    """Record the card issued to an entitled person (409 if they hold an active card)."""
    views = [entitlement_view(e) for e in await entitlements_of(session, person.id)]
    best = best_entitlement(views, valid_from)
    if best is None:
        raise RuleViolation(
            f"person {person.id} has no entitlement current on {valid_from.isoformat()}",
            field="body.person_id",
        )
    held = await active_card(session, person.id)
    if held is not None:
        raise Conflict(f"person {person.id} already holds active card {held.id}")
    number = _social_insurance_number(person, social_insurance_number)
    try:
        card_number = card_number_for(best.group, valid_from, number, rules)
    except InsuranceRuleViolation as exc:
        raise RuleViolation(str(exc), field="body.social_insurance_number") from exc
    person.social_insurance_number = number
    current = [v.starts_on for v in views if is_current(v.starts_on, v.ends_on, valid_from)]
    card = Card(
        id=str(uuid.uuid4()),
        person_id=person.id,
        commune_code=person.commune_code,
        card_number=str(card_number),
        object_code=card_number.object_code,
        benefit_level=card_number.benefit_level,
        province_code=card_number.province_code,
        valid_from=valid_from,
        valid_to=card_valid_to(valid_from, views, rules),
        issued_on=issued_on,
        status=CardStatus.ACTIVE.value,
        source="local",
        entitlement_id=best.entitlement_id,
        entitled_since=waiting_since(min(current), await _cards_ended_on(session, person.id)),
    )
    session.add(card)
    await session.flush()  # the one-active-card index speaks here, inside the request
    out.append((_card_issued(card, person), person.id))
    return card


async def record_partner_card(
    session: AsyncSession,
    person: InsuredPerson,
    number: CardNumber,
    *,
    valid_from: date,
    valid_to: date,
    issued_on: date,
    import_id: str,
    out: Outbox,
) -> Card:
    """Record a card VSS confirms; a second card for the same person is kept as a duplicate."""
    views = [entitlement_view(e) for e in await entitlements_of(session, person.id)]
    best = best_entitlement(views, valid_from)
    held = await active_card(session, person.id)
    current = [v.starts_on for v in views if is_current(v.starts_on, v.ends_on, valid_from)]
    card = Card(
        id=str(uuid.uuid4()),
        person_id=person.id,
        commune_code=person.commune_code,
        card_number=str(number),
        object_code=number.object_code,
        benefit_level=number.benefit_level,
        province_code=number.province_code,
        valid_from=valid_from,
        valid_to=valid_to,
        issued_on=issued_on,
        status=(CardStatus.DUPLICATE if held else CardStatus.ACTIVE).value,
        source="partner",
        entitlement_id=best.entitlement_id if best else None,
        entitled_since=(
            waiting_since(min(current), await _cards_ended_on(session, person.id))
            if current
            else None
        ),
        duplicate_of_card_id=held.id if held else None,
        partner_import_id=import_id,
    )
    if person.social_insurance_number is None:
        person.social_insurance_number = number.social_insurance_number
    session.add(card)
    await session.flush()
    out.append((_card_issued(card, person), person.id))
    return card


def _close(card: Card, status: CardStatus, on: date, reason: str) -> None:
    try:
        assert_card_transition(card.status, status)
    except InsuranceRuleViolation as exc:
        raise Conflict(str(exc)) from exc
    card.status = status.value
    card.ended_on = on
    card.end_reason = reason


def revoke_card(
    card: Card,
    on: date,
    reason: str,
    out: Outbox,
    *,
    entitlement_id: str | None = None,
    caused_by_event_id: str | None = None,
) -> None:
    """Withdraw an active or duplicate card from ``on`` (409 if it is no longer held)."""
    _close(card, CardStatus.REVOKED, on, reason)
    out.append(
        (
            CardRevoked(
                card_id=card.id,
                person_id=card.person_id,
                commune_code=card.commune_code,
                revoked_on=on,
                reason=reason,
                entitlement_id=entitlement_id,
                caused_by_event_id=caused_by_event_id,
            ),
            card.person_id,
        )
    )


def expire_card(card: Card, out: Outbox) -> date:
    """Close a card past its validity; returns the first day it was no longer valid."""
    ended_on = card.valid_to + timedelta(days=1)
    _close(card, CardStatus.EXPIRED, ended_on, f"validity ended on {card.valid_to.isoformat()}")
    out.append(
        (
            CardExpired(
                card_id=card.id,
                person_id=card.person_id,
                commune_code=card.commune_code,
                valid_to=card.valid_to,
                expired_on=ended_on,
            ),
            card.person_id,
        )
    )
    return ended_on


async def _replace(session: AsyncSession, old: Card, new: Card, out: Outbox) -> Card:
    """Close ``old`` as renewed and make ``new`` the active card (card_renewed)."""
    _close(old, CardStatus.RENEWED, new.valid_from, f"renewed by card {new.id}")
    await session.flush()  # the old card stops being active before the new one starts
    new.renewed_from_card_id = old.id
    session.add(new)
    await session.flush()
    out.append(
        (
            CardRenewed(
                card_id=new.id,
                renewed_card_id=old.id,
                person_id=new.person_id,
                commune_code=new.commune_code,
                object_code=new.object_code,
                benefit_level=new.benefit_level,
                valid_from=new.valid_from,
                valid_to=new.valid_to,
                renewed_on=new.issued_on,
                entitlement_id=new.entitlement_id,
            ),
            new.person_id,
        )
    )
    return new


async def renew_card(
    session: AsyncSession,
    card: Card,
    *,
    valid_from: date,
    issued_on: date,
    rules: LocalRules,
    out: Outbox,
) -> Card:
    """Replace an active card by a new one under the person's best current entitlement."""
    if card.status != CardStatus.ACTIVE:
        raise Conflict(f"card {card.id} is {card.status}: only an active card is renewed")
    views = [entitlement_view(e) for e in await entitlements_of(session, card.person_id)]
    best = best_entitlement(views, valid_from)
    if best is None:
        raise RuleViolation(
            f"the holder has no entitlement current on {valid_from.isoformat()}",
            field="body.valid_from",
        )
    number = card_number_for(best.group, valid_from, card.card_number[-10:], rules)
    new = Card(
        id=str(uuid.uuid4()),
        person_id=card.person_id,
        commune_code=card.commune_code,
        card_number=str(number),
        object_code=number.object_code,
        benefit_level=number.benefit_level,
        province_code=number.province_code,
        valid_from=valid_from,
        valid_to=card_valid_to(valid_from, views, rules),
        issued_on=issued_on,
        status=CardStatus.ACTIVE.value,
        source="local",
        entitlement_id=best.entitlement_id,
    )
    return await _replace(session, card, new, out)


async def record_partner_renewal(
    session: AsyncSession,
    held: Card,
    *,
    valid_from: date,
    valid_to: date,
    issued_on: date,
    import_id: str,
    out: Outbox,
) -> Card:
    """The agency renewed the active card ``held`` (same number, later validity)."""
    views = [entitlement_view(e) for e in await entitlements_of(session, held.person_id)]
    best = best_entitlement(views, valid_from)
    new = Card(
        id=str(uuid.uuid4()),
        person_id=held.person_id,
        commune_code=held.commune_code,
        card_number=held.card_number,
        object_code=held.object_code,
        benefit_level=held.benefit_level,
        province_code=held.province_code,
        valid_from=valid_from,
        valid_to=valid_to,
        issued_on=issued_on,
        status=CardStatus.ACTIVE.value,
        source="partner",
        entitlement_id=best.entitlement_id if best else None,
        partner_import_id=import_id,
    )
    return await _replace(session, held, new, out)
