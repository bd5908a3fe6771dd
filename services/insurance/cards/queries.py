"""Read side of the card family: cards, the three worklists and the partner exchange.

* uncarded — entitled persons without an active card, oldest wait first (none missing);
* to revoke — active cards whose holder has no current entitlement (none in excess);
* duplicates — persons holding more than one card reported active (none duplicated);
* the issue list for the social insurance agency, and past confirmation imports.

Each authorises the reader (shared.auth) before it reads.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Collection
from datetime import date

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.insurance.cards.changes import get_card
from services.insurance.cards.domain import CardStatus, card_valid_to, issue_due_on, waiting_since
from services.insurance.cards.schemas import ImportSummaryOut, MismatchOut
from services.insurance.domain.entitlements import best_entitlement
from services.insurance.domain.policies import LocalRules, policy_for
from services.insurance.entitlements import current_clause, entitlement_view, rule_problems
from services.insurance.models import (
    Card,
    Entitlement,
    InsuredPerson,
    PartnerImport,
    PartnerMismatch,
)
from services.insurance.schemas import (
    CardOut,
    DuplicateOut,
    ToRevokeOut,
    UncardedOut,
    UncardedPage,
)
from services.insurance.settings import SERVICE
from shared.auth import Principal, Role, authorize_read, authorize_write, readable_communes
from shared.config import ServiceSettings
from shared.problems import NotFound
from shared.service import service_client

HELD = (CardStatus.ACTIVE.value, CardStatus.DUPLICATE.value)


def shows_card_numbers(principal: Principal) -> bool:
    """Card numbers end in the SI number: only those who act on cards see them."""
    return principal.role in (Role.OPERATOR, Role.ADMIN, Role.SERVICE)


def card_out(card: Card, *, show_number: bool) -> CardOut:
    """The response body of ``card``, its number left out unless ``show_number``."""
    return CardOut(
        card_id=card.id,
        card_number=card.card_number if show_number else None,
        **{
            name: getattr(card, name)
            for name in CardOut.model_fields
            if name not in ("card_id", "card_number")
        },
    )


async def card_view(session: AsyncSession, principal: Principal, card_id: str) -> CardOut:
    """Card ``card_id`` as ``principal`` may see it."""
    card = await get_card(session, card_id)
    authorize_read(principal, SERVICE, card.commune_code)
    return card_out(card, show_number=shows_card_numbers(principal))


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


async def uncarded_page(
    session: AsyncSession,
    principal: Principal,
    on: date,
    rules: LocalRules,
    *,
    commune_code: str | None = None,
    limit: int,
) -> UncardedPage:
    """The uncarded worklist on ``on``: the first ``limit`` persons, with totals."""
    authorize_read(principal, SERVICE, commune_code)
    with rule_problems("query.on"):
        items = await uncarded(
            session, on, rules, communes=readable_communes(principal), commune_code=commune_code
        )
    return UncardedPage(
        on=on,
        service_standard_days=rules.service_standard_days,
        total=len(items),
        overdue=sum(1 for item in items if item.overdue),
        items=items[:limit],
    )


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
    session: AsyncSession, principal: Principal, on: date, *, commune_code: str | None = None
) -> list[ToRevokeOut]:
    """Active cards on ``on`` whose holder has no current entitlement, oldest issue first."""
    authorize_read(principal, SERVICE, commune_code)
    show_numbers = shows_card_numbers(principal)
    communes = readable_communes(principal)
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
    session: AsyncSession, principal: Principal, *, commune_code: str | None = None
) -> list[DuplicateOut]:
    """Persons holding more than one card reported active (ours plus the agency's)."""
    authorize_read(principal, SERVICE, commune_code)
    show_numbers = shows_card_numbers(principal)
    communes = readable_communes(principal)
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


async def confirmation_import(
    session: AsyncSession, principal: Principal, import_id: str
) -> ImportSummaryOut:
    """A past confirmation import with every mismatch it found."""
    authorize_read(principal, SERVICE, None)
    batch = await session.get(PartnerImport, import_id)
    if batch is None:
        raise NotFound(f"confirmation import {import_id} does not exist")
    rows = await session.execute(
        select(PartnerMismatch)
        .where(PartnerMismatch.import_id == import_id)
        .order_by(PartnerMismatch.line, PartnerMismatch.id)
    )
    return ImportSummaryOut(
        import_id=batch.id,
        format=batch.format,
        submitted_by=batch.submitted_by,
        rows_read=batch.rows_read,
        cards_recorded=batch.cards_recorded,
        already_confirmed=batch.already_confirmed,
        mismatch_count=batch.mismatches,
        mismatches=[
            MismatchOut(**{name: getattr(m, name) for name in MismatchOut.model_fields})
            for m in rows.scalars()
        ],
    )


EXPORT_COLUMNS = (
    "citizen_pseudonym", "person_id", "household_id", "commune_code", "beneficiary_group",
    "object_code", "benefit_level", "subsidy_percent", "policy_code", "valid_from", "valid_to",
    "waiting_since", "due_on", "overdue",
)  # fmt: skip
PERSONAL_COLUMNS = ("full_name", "citizen_id", "date_of_birth", "sex")


async def issue_list_csv(
    session: AsyncSession,
    principal: Principal,
    settings: ServiceSettings,
    rules: LocalRules,
    commune_code: str,
    on: date,
    *,
    personal_data: bool,
) -> str:
    """The commune's persons to issue a card to on ``on``, as the CSV the agency takes."""
    authorize_read(principal, SERVICE, commune_code)
    if personal_data:
        authorize_write(principal, SERVICE, commune_code)  # only who acts for the commune
    rows = await uncarded(session, on, rules, commune_code=commune_code)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS + (PERSONAL_COLUMNS if personal_data else ()))
    personal: dict[str, dict[str, object]] = {}
    if personal_data and rows:
        personal = await _personal_data(settings, [r.person_id for r in rows], commune_code)
    for row in rows:
        line: list[object] = [
            row.citizen_pseudonym or "", row.person_id, row.household_id, row.commune_code,
            row.group, row.object_code, row.benefit_level, row.subsidy_percent, row.policy_code,
            row.proposed_valid_from.isoformat(), row.proposed_valid_to.isoformat(),
            row.waiting_since.isoformat(), row.due_on.isoformat(), str(row.overdue).lower(),
        ]  # fmt: skip
        if personal_data:
            found = personal.get(row.person_id) or {}
            line += [found.get(name) or "" for name in PERSONAL_COLUMNS]
        writer.writerow(line)
    return buffer.getvalue()


async def _personal_data(
    settings: ServiceSettings, person_ids: list[str], commune_code: str
) -> dict[str, dict[str, object]]:
    """Name, citizen ID, birth date and sex per person, read (and logged) by households."""
    client = service_client(settings, settings.households_api_url)
    purpose = f"health-insurance card issue list for VSS, commune {commune_code}"
    found: dict[str, dict[str, object]] = {}
    try:
        for person_id in person_ids:
            data = await client.get_json(f"/persons/{person_id}/personal-data", purpose=purpose)
            if data is not None:
                found[person_id] = data
    finally:
        await client.aclose()
    return found
