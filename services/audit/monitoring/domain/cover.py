"""Card cover: who was entitled on a day, which card was active, how long a person waited.

The exclusion and excess rules of the fairness view and the card findings. Pure rules:
standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.audit.monitoring.domain.standards import AuditPolicy


@dataclass(frozen=True)
class Cover:
    """An entitlement's span: covered on d when ``starts_on <= d < ends_on`` (None: open)."""

    starts_on: date
    ends_on: date | None

    def covers(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on < self.ends_on)


@dataclass(frozen=True)
class CardSpan:
    """A card from issue to its closing day (expired, revoked, renewed) or validity end."""

    card_id: str
    issued_on: date
    valid_to: date
    closed_on: date | None  # first day it was no longer active

    def active_on(self, on: date) -> bool:
        open_on = self.closed_on is None or on < self.closed_on
        return self.issued_on <= on <= self.valid_to and open_on

    def ended_by(self, on: date) -> date | None:
        """The first day without this card, if that is on or before ``on``."""
        end = min(self.closed_on or date.max, self.valid_to + timedelta(days=1))
        return end if end <= on else None


def waiting_since(covers: Sequence[Cover], cards: Sequence[CardSpan], on: date) -> date | None:
    """Since when an entitled person has waited for a card on ``on`` (None: not entitled).

    The earliest start of the entitlements current on ``on``, or the day the last card
    ended if later (a person whose card ran out waits again from then).
    """
    current = [c.starts_on for c in covers if c.covers(on)]
    if not current:
        return None
    ended = [e for e in (card.ended_by(on) for card in cards) if e is not None]
    return max([min(current), *ended])


def excluded_on(
    covers: Sequence[Cover], cards: Sequence[CardSpan], on: date, policy: AuditPolicy
) -> bool:
    """Entitled on ``on``, no active card, and waiting longer than the service standard."""
    since = waiting_since(covers, cards, on)
    if since is None or any(card.active_on(on) for card in cards):
        return False
    return (on - since).days > policy.card_service_standard_days


def excess_on(covers: Sequence[Cover], card: CardSpan, on: date, policy: AuditPolicy) -> bool:
    """The card is active on ``on`` but its holder has had no entitlement for longer than the
    tolerance (counted from the later of the last entitlement's end and the card's issue)."""
    if not card.active_on(on) or any(c.covers(on) for c in covers):
        return False
    ends = [c.ends_on for c in covers if c.ends_on is not None and c.ends_on <= on]
    uncovered_since = max([card.issued_on, *ends])
    return (on - uncovered_since).days > policy.excess_tolerance_days


def card_wait_days(
    covers: Sequence[Cover], others: Sequence[CardSpan], card: CardSpan
) -> int | None:
    """Days a person waited for ``card`` (issue day − :func:`waiting_since`); None when the
    card ended no wait: no entitlement current on its issue day, or another card active."""
    if any(other.active_on(card.issued_on) for other in others):
        return None
    since = waiting_since(covers, others, card.issued_on)
    return None if since is None else (card.issued_on - since).days
