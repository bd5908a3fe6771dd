"""Card holders: none missing, none duplicated, none in excess, none issued late."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors.breach import Breach, Ids, Verdicts, finding_key, rows_of
from services.audit.monitoring.domain.cover import (
    CardSpan,
    Cover,
    card_wait_days,
    excess_on,
    excluded_on,
    waiting_since,
)
from services.audit.monitoring.domain.standards import (
    AuditPolicy,
)
from services.audit.monitoring.models import (
    ViewCard,
    ViewEntitlement,
)

# --- persons: none missing, none duplicated, none in excess ---------------------------------

DUPLICATES, MISSING, EXCESS = "duplicate_cards", "card_missing", "card_excess"
LATE = "card_issued_late"


def card_span(card: ViewCard) -> CardSpan:
    return CardSpan(card.card_id, card.issued_on, card.valid_to, card.closed_on)


def cover(entitlement: ViewEntitlement) -> Cover:
    return Cover(entitlement.starts_on, entitlement.ends_on)


@dataclass
class Holder:
    """What the read models hold about one person's cover and cards."""

    entitlements: list[ViewEntitlement]
    cards: list[ViewCard]

    @property
    def commune_code(self) -> str | None:
        rows: list[Any] = [*self.cards, *self.entitlements]
        return rows[-1].commune_code if rows else None


async def holders(session: AsyncSession, ids: Ids) -> dict[str, Holder]:
    """Entitlements and cards by person (every person with either when ``ids`` is None)."""
    found: dict[str, Holder] = defaultdict(lambda: Holder([], []))
    for e in await rows_of(session, ViewEntitlement, ViewEntitlement.person_id, ids):
        found[e.person_id].entitlements.append(e)
    for c in await rows_of(session, ViewCard, ViewCard.person_id, ids):
        found[c.person_id].cards.append(c)
    return found


def judge_holder(person_id: str, h: Holder, on: date, policy: AuditPolicy) -> Verdicts:
    covers = [cover(e) for e in h.entitlements]
    spans = [card_span(c) for c in h.cards]
    commune = h.commune_code
    active = sorted((c for c in h.cards if card_span(c).active_on(on)), key=lambda c: c.card_id)
    verdicts: Verdicts = dict.fromkeys(
        (finding_key(DUPLICATES, person_id), finding_key(MISSING, person_id))
    )
    if len(active) > 1:
        verdicts[finding_key(DUPLICATES, person_id)] = Breach(
            DUPLICATES,
            person_id,
            commune,
            f"{len(active)} active cards on {on}: " + ", ".join(c.card_id for c in active),
            tuple(i for c in active for i in c.event_ids),
        )
    if excluded_on(covers, spans, on, policy):
        since = waiting_since(covers, spans, on)
        assert since is not None
        current = [e for e in h.entitlements if cover(e).covers(on)]
        verdicts[finding_key(MISSING, person_id)] = Breach(
            MISSING,
            person_id,
            commune,
            f"Entitled ({', '.join(sorted({e.group for e in current}))}) and waiting since "
            f"{since}, no active card on {on}: {(on - since).days} days, standard "
            f"{policy.card_service_standard_days}",
            tuple(i for e in current for i in e.event_ids)
            + tuple(i for c in h.cards for i in c.event_ids),
        )
    for card in h.cards:
        verdicts[finding_key(LATE, card.card_id)] = late_card(person_id, card, h, on, policy)
        key = finding_key(EXCESS, card.card_id)
        verdicts[key] = None
        if excess_on(covers, card_span(card), on, policy):
            verdicts[key] = Breach(
                EXCESS,
                card.card_id,
                card.commune_code,
                f"Card {card.card_id} of person {person_id} active on {on} without a current "
                f"entitlement (tolerance {policy.excess_tolerance_days} day(s))",
                tuple(card.event_ids) + tuple(i for e in h.entitlements for i in e.event_ids),
            )
    return verdicts


def late_card(
    person_id: str, card: ViewCard, h: Holder, on: date, policy: AuditPolicy
) -> Breach | None:
    """A card issued (by ``on``) to a person who had waited longer than the standard."""
    if card.renewal or card.issued_on > on:
        return None
    others = [card_span(c) for c in h.cards if c.card_id != card.card_id]
    days = card_wait_days([cover(e) for e in h.entitlements], others, card_span(card))
    if days is None or days <= policy.card_service_standard_days:
        return None
    return Breach(
        LATE,
        card.card_id,
        card.commune_code,
        f"Card {card.card_id} of person {person_id} issued on {card.issued_on}, {days} days "
        f"after the person became entitled (standard {policy.card_service_standard_days})",
        tuple(card.event_ids[:1]) + tuple(i for e in h.entitlements for i in e.event_ids),
    )


async def judge_persons(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {}
    for person_id in ids or ():
        verdicts.update(
            dict.fromkeys((finding_key(DUPLICATES, person_id), finding_key(MISSING, person_id)))
        )
    for person_id, holder in (await holders(session, ids)).items():
        verdicts.update(judge_holder(person_id, holder, as_of, policy))
    return verdicts
