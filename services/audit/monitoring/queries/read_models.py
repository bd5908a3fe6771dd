"""Reading the read models for a view: rows of the communes in scope, grouped as views need.

Shared by the view builders of this package; nothing here decides what a breach is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors import Holder, card_span, cover
from services.audit.monitoring.domain.cover import card_wait_days
from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.models import (
    ViewCard,
    ViewClassChange,
    ViewEntitlement,
    ViewHousehold,
)
from services.audit.monitoring.schemas import Ratio

Scope = frozenset[str] | None
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def scope_of(commune_code: str | None, communes: Scope) -> Scope:
    """The communes a view counts: the one asked for (if readable), else the readable ones."""
    if commune_code is None:
        return communes
    readable = communes is None or commune_code in communes
    return frozenset({commune_code}) if readable else frozenset()


async def load(session: AsyncSession, model: Any, scope: Scope, *conditions: Any) -> list[Any]:
    """Rows of ``model`` in the communes of ``scope`` that meet ``conditions``."""
    query = select(model).where(*conditions)
    if scope is not None:
        query = query.where(model.commune_code.in_(sorted(scope)))
    return list((await session.execute(query)).scalars())


def group_by(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    grouped: dict[K, list[T]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def in_year(day: date | None, year: int, as_of: date) -> bool:
    """``day`` falls in ``year`` and not after ``as_of``."""
    return day is not None and day.year == year and day <= as_of


def ratio(numerator: int, denominator: int, per: int = 1) -> Ratio:
    return Ratio(numerator=numerator, denominator=denominator, per=per)


async def load_holders(session: AsyncSession, scope: Scope) -> dict[str, Holder]:
    """Entitlements and cards per person, for the persons whose rows are in scope."""
    found: dict[str, Holder] = defaultdict(lambda: Holder([], []))
    for e in await load(session, ViewEntitlement, scope):
        found[e.person_id].entitlements.append(e)
    for c in await load(session, ViewCard, scope):
        found[c.person_id].cards.append(c)
    return dict(found)


def entitled_on(holder: Holder, on: date) -> bool:
    return any(cover(e).covers(on) for e in holder.entitlements)


def active_cards(holder: Holder, on: date) -> list[ViewCard]:
    return [c for c in holder.cards if card_span(c).active_on(on)]


def card_lags(holder: Holder, year: int, as_of: date, policy: AuditPolicy) -> list[int]:
    """Days from eligibility to each card issued in ``year`` to a person waiting for one.

    Renewals, and cards issued while another was active (duplicates), are not waits.
    """
    covers = [cover(e) for e in holder.entitlements]
    lags = []
    for card in holder.cards:
        if card.renewal or not in_year(card.issued_on, year, as_of):
            continue
        others = [card_span(c) for c in holder.cards if c.card_id != card.card_id]
        days = card_wait_days(covers, others, card_span(card))
        if days is not None:
            lags.append(days)
    return lags


def holder_commune(holder: Holder) -> str | None:
    return holder.commune_code


# --- households and their class on a day ---------------------------------------------------


class ClassBook:
    """Each household's recognised class over time, and who was registered when."""

    def __init__(self, households: list[ViewHousehold], changes: list[ViewClassChange]) -> None:
        self.households = {h.household_id: h for h in households}
        self.changes = {
            k: sorted(v, key=lambda c: (c.effective_date, c.leaf_index))
            for k, v in group_by(changes, lambda c: c.household_id).items()
        }

    def class_on(self, household_id: str, on: date) -> str | None:
        current = None
        for change in self.changes.get(household_id, ()):
            if change.effective_date > on:
                break
            current = change.to_class
        return current

    def registered_on(self, on: date) -> list[ViewHousehold]:
        return [h for h in self.households.values() if h.registered_on <= on]

    def rates(self, commune_code: str | None, on: date) -> tuple[Ratio, Ratio]:
        """(poor rate, near-poor rate) in percent of the households registered on ``on``."""
        households = [h for h in self.registered_on(on) if commune_code in (None, h.commune_code)]
        classes = [self.class_on(h.household_id, on) for h in households]
        n = len(households)
        return ratio(classes.count("poor"), n, 100), ratio(classes.count("near_poor"), n, 100)


async def load_class_book(session: AsyncSession, scope: Scope) -> ClassBook:
    return ClassBook(
        await load(session, ViewHousehold, scope), await load(session, ViewClassChange, scope)
    )
