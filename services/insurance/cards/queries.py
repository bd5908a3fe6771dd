"""Read side of the insurance service: row views and the three worklists.

* uncarded — entitled persons without an active card, oldest wait first (none missing);
* to revoke — active cards whose holder has no current entitlement (none in excess);
* duplicates — persons holding more than one card reported active (none duplicated).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.insurance.domain import (
    CardStatus,
    LocalRules,
    best_entitlement,
    card_valid_to,
    is_current,
    issue_due_on,
    policy_for,
    waiting_since,
)
from services.insurance.models import Card, Entitlement, InsuredPerson
from services.insurance.operations import current_clause, entitlement_view
from services.insurance.schemas import (
    CardOut,
    DuplicateOut,
    EntitlementOut,
    ToRevokeOut,
    UncardedOut,
)

HELD = (CardStatus.ACTIVE.value, CardStatus.DUPLICATE.value)


def entitlement_out(entitlement: Entitlement, on: date) -> EntitlementOut:
    return EntitlementOut(
        entitlement_id=entitlement.id,
        current=is_current(entitlement.starts_on, entitlement.ends_on, on),
        **{
            name: getattr(entitlement, name)
            for name in EntitlementOut.model_fields
            if name not in ("entitlement_id", "current")
        },
    )


def card_out(card: Card, *, show_number: bool) -> CardOut:
    return CardOut(
        card_id=card.id,
        card_number=card.card_number if show_number else None,
        **{
            name: getattr(card, name)
            for name in CardOut.model_fields
            if name not in ("card_id", "card_number")
        },
    )


def _in_communes(
    column: InstrumentedAttribute[str],
    communes: Collection[str] | None,
    commune_code: str | None,
) -> list[ColumnElement[bool]]:
    """Conditions keeping rows of the readable communes (and of ``commune_code`` if given)."""
    conditions: list[ColumnElement[bool]] = []
    if communes is not None:
        conditions.append(column.in_(list(communes)))
    if commune_code is not None:
        conditions.append(column == commune_code)
    return conditions


async def uncarded(
    session: AsyncSession,
    on: date,
    rules: LocalRules,
    *,
    communes: Collection[str] | None = None,
    commune_code: str | None = None,
) -> list[UncardedOut]:
    """Entitled persons without an active card on ``on``, longest wait first."""
    has_card = exists().where(
        Card.person_id == Entitlement.person_id, Card.status == CardStatus.ACTIVE
    )
    query = (
        select(Entitlement, InsuredPerson)
        .join(InsuredPerson, InsuredPerson.id == Entitlement.person_id)
        .where(current_clause(on), ~has_card)
        .where(*_in_communes(InsuredPerson.commune_code, communes, commune_code))
    )
    rows = (await session.execute(query)).all()
    by_person: dict[str, list[Entitlement]] = defaultdict(list)
    persons: dict[str, InsuredPerson] = {}
    for entitlement, person in rows:
        by_person[person.id].append(entitlement)
        persons[person.id] = person
    last_card_end = await _last_card_ends(session, list(persons))
    items = [
        _uncarded_item(persons[person_id], entitlements, last_card_end.get(person_id), on, rules)
        for person_id, entitlements in by_person.items()
    ]
    items.sort(key=lambda item: (item.waiting_since, item.person_id))
    return items


def _uncarded_item(
    person: InsuredPerson,
    entitlements: list[Entitlement],
    last_card_ended: date | None,
    on: date,
    rules: LocalRules,
) -> UncardedOut:
    views = [entitlement_view(e) for e in entitlements]
    best = best_entitlement(views, on)
    assert best is not None  # every entitlement given is current on ``on``
    since = waiting_since(
        min(v.starts_on for v in views), [last_card_ended] if last_card_ended else []
    )
    due = issue_due_on(since, rules)
    policy = policy_for(on)
    terms = policy.terms[best.group]
    return UncardedOut(
        person_id=person.id,
        household_id=person.household_id,
        commune_code=person.commune_code,
        citizen_pseudonym=person.citizen_pseudonym,
        group=best.group.value,
        object_code=terms.object_code,
        benefit_level=terms.benefit_level,
        subsidy_percent=best.subsidy_percent,
        policy_code=policy.code,
        entitlement_id=best.entitlement_id,
        waiting_since=since,
        due_on=due,
        overdue=on > due,
        proposed_valid_from=on,
        proposed_valid_to=card_valid_to(on, views, rules),
    )


async def _last_card_ends(session: AsyncSession, person_ids: list[str]) -> dict[str, date]:
    if not person_ids:
        return {}
    rows = await session.execute(
        select(Card.person_id, func.max(Card.ended_on))
        .where(Card.person_id.in_(person_ids), Card.ended_on.is_not(None))
        .group_by(Card.person_id)
    )
    return {person_id: ended for person_id, ended in rows if ended is not None}


async def to_revoke(
    session: AsyncSession,
    on: date,
    *,
    show_numbers: bool,
    communes: Collection[str] | None = None,
    commune_code: str | None = None,
) -> list[ToRevokeOut]:
    """Active cards on ``on`` whose holder has no current entitlement, oldest issue first."""
    query = (
        select(Card)
        .where(
            Card.status == CardStatus.ACTIVE,
            ~exists().where(Entitlement.person_id == Card.person_id, current_clause(on)),
        )
        .where(*_in_communes(Card.commune_code, communes, commune_code))
        .order_by(Card.issued_on, Card.id)
    )
    items = []
    for card in (await session.execute(query)).scalars():
        last = (
            await session.execute(
                select(Entitlement)
                .where(Entitlement.person_id == card.person_id, Entitlement.ends_on <= on)
                .order_by(Entitlement.ends_on.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        items.append(
            ToRevokeOut(
                card=card_out(card, show_number=show_numbers),
                last_entitlement_id=last.id if last else None,
                last_entitlement_ended_on=last.ends_on if last else None,
                last_entitlement_end_reason=last.end_reason if last else None,
            )
        )
    return items


async def duplicates(
    session: AsyncSession,
    *,
    show_numbers: bool,
    communes: Collection[str] | None = None,
    commune_code: str | None = None,
) -> list[DuplicateOut]:
    """Persons holding more than one card reported active (ours plus the agency's)."""
    doubled = (
        select(Card.person_id)
        .where(Card.status.in_(HELD))
        .group_by(Card.person_id)
        .having(func.count() > 1)
    )
    query = (
        select(Card)
        .where(Card.person_id.in_(doubled), Card.status.in_(HELD))
        .where(*_in_communes(Card.commune_code, communes, commune_code))
        .order_by(Card.commune_code, Card.person_id, Card.issued_on, Card.created_at)
    )
    grouped: dict[str, DuplicateOut] = {}
    for card in (await session.execute(query)).scalars():
        entry = grouped.setdefault(
            card.person_id,
            DuplicateOut(person_id=card.person_id, commune_code=card.commune_code, cards=[]),
        )
        entry.cards.append(card_out(card, show_number=show_numbers))
    return list(grouped.values())
