"""Matching one VSS issuance confirmation to a person and their cards.

The person is found by keyed pseudonym. What the row then does:

* the same card (number and validity) is already recorded: nothing (already confirmed);
* the person's active card has the same number and the confirmed validity starts later:
  the agency renewed it (card_renewed);
* otherwise the card is recorded (card_issued): active, or ``duplicate`` when the person
  already holds another active card; a recorded card without a current entitlement is
  reported too (it shows on the to-revoke worklist).

Anything that cannot be applied is reported as a mismatch, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.insurance.cards.changes import (
    active_card,
    record_partner_card,
    record_partner_renewal,
)
from services.insurance.cards.domain import CardNumber, CardStatus
from services.insurance.cards.schemas import MismatchOut
from services.insurance.entitlements import Outbox
from services.insurance.models import Card, InsuredPerson
from shared.auth import Principal, Role


@dataclass(frozen=True)
class Confirmation:
    line: int
    citizen_pseudonym: str
    person_id: str | None
    card_number: CardNumber
    valid_from: date
    valid_to: date
    issued_on: date


@dataclass
class Outcome:
    card_recorded: bool = False
    already_confirmed: bool = False
    mismatch: MismatchOut | None = None


def _mismatch(
    c: Confirmation,
    kind: str,
    detail: str,
    person_id: str | None = None,
    card_id: str | None = None,
) -> MismatchOut:
    return MismatchOut(
        line=c.line,
        kind=kind,
        detail=detail,
        citizen_pseudonym=c.citizen_pseudonym,
        person_id=person_id,
        card_number=str(c.card_number),
        card_id=card_id,
    )


async def _refusal(
    session: AsyncSession, principal: Principal, c: Confirmation, person: InsuredPerson
) -> MismatchOut | None:
    """Why the row may not be applied to ``person``, if it may not."""
    if c.person_id is not None and c.person_id != person.id:
        return _mismatch(
            c, "person_mismatch", f"the pseudonym belongs to person {person.id}, "
            f"not {c.person_id}", person.id
        )  # fmt: skip
    if principal.role is Role.OPERATOR and not principal.covers_commune(person.commune_code):
        return _mismatch(c, "out_of_scope", f"person is in commune {person.commune_code}")
    number = c.card_number.social_insurance_number
    if person.social_insurance_number not in (None, number):
        return _mismatch(
            c, "social_insurance_number_mismatch",
            "the card's social insurance number differs from the one on record", person.id,
        )  # fmt: skip
    if person.social_insurance_number is None:
        holder = (
            await session.execute(
                select(InsuredPerson.id).where(InsuredPerson.social_insurance_number == number)
            )
        ).scalar_one_or_none()
        if holder is not None:
            return _mismatch(
                c, "social_insurance_number_taken",
                f"the social insurance number is on record for person {holder}", person.id,
            )  # fmt: skip
    return None


async def apply_confirmation(
    session: AsyncSession, principal: Principal, import_id: str, c: Confirmation, out: Outbox
) -> Outcome:
    """Apply one confirmation row; the outcome says what happened and what to report."""
    person = (
        await session.execute(
            select(InsuredPerson).where(InsuredPerson.citizen_pseudonym == c.citizen_pseudonym)
        )
    ).scalar_one_or_none()
    if person is None:
        detail = "no person with this citizen pseudonym is known to the insurance service"
        return Outcome(mismatch=_mismatch(c, "unknown_pseudonym", detail))
    refusal = await _refusal(session, principal, c, person)
    if refusal is not None:
        return Outcome(mismatch=refusal)
    number = str(c.card_number)
    known = (
        await session.execute(
            select(Card.id).where(
                Card.person_id == person.id,
                Card.card_number == number,
                Card.valid_from == c.valid_from,
                Card.valid_to == c.valid_to,
            )
        )
    ).first()
    if known is not None:
        return Outcome(already_confirmed=True)
    held = await active_card(session, person.id)
    if held is not None and held.card_number == number:
        return await _same_number(session, import_id, c, held, out)
    card = await record_partner_card(
        session, person, c.card_number, valid_from=c.valid_from, valid_to=c.valid_to,
        issued_on=c.issued_on, import_id=import_id, out=out,
    )  # fmt: skip
    outcome = Outcome(card_recorded=True)
    if card.status == CardStatus.DUPLICATE:
        detail = f"the person already held active card {card.duplicate_of_card_id}"
        outcome.mismatch = _mismatch(c, "duplicate_card", detail, person.id, card.id)
    elif card.entitlement_id is None:
        detail = f"the person has no entitlement current on {c.valid_from.isoformat()}"
        outcome.mismatch = _mismatch(c, "no_entitlement", detail, person.id, card.id)
    return outcome


async def _same_number(
    session: AsyncSession, import_id: str, c: Confirmation, held: Card, out: Outbox
) -> Outcome:
    """The person's active card has the confirmed number: a renewal, or a validity clash."""
    if c.valid_from > held.valid_from:
        await record_partner_renewal(
            session, held, valid_from=c.valid_from, valid_to=c.valid_to,
            issued_on=c.issued_on, import_id=import_id, out=out,
        )  # fmt: skip
        return Outcome(card_recorded=True)
    detail = (
        f"card {held.id} is recorded valid {held.valid_from}–{held.valid_to}, "
        f"the agency confirms {c.valid_from}–{c.valid_to}"
    )
    return Outcome(mismatch=_mismatch(c, "validity_differs", detail, held.person_id, held.id))
