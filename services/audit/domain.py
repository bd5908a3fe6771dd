"""Under which ids the audit trail finds an event, and the rules the monitoring views
re-check (poverty standards, service standards, card cover).

Pure rules: standard library and shared.workdays only. What a ledger leaf holds (an
event's canonical bytes) is the ledger's format: :mod:`shared.ledger.leaf`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.workdays import add_working_days, posting_end

#: Fields of ``data`` naming a subject whose trail includes the event (besides ``ce_subject``).
TRAIL_ID_FIELDS = ("household_id", "person_id", "card_id", "application_id", "worker_id")

MAX_SUBJECT_ID_LENGTH = 200


def trail_ids(subject: str, data: Mapping[str, Any]) -> set[str]:
    """Every id whose trail shows the event: its subject and the ids its data names."""
    ids = {subject}
    for name in TRAIL_ID_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            ids.add(value)
    return {i for i in ids if 0 < len(i) <= MAX_SUBJECT_ID_LENGTH}


def commune_of(data: Mapping[str, Any]) -> str | None:
    """The commune an event concerns, when its data says (``commune_code``)."""
    value = data.get("commune_code")
    return value if isinstance(value, str) and value else None


def occurred_at(ce_time: str) -> datetime:
    """The event time (RFC 3339) as an aware UTC datetime."""
    return datetime.fromisoformat(ce_time.replace("Z", "+00:00")).astimezone(UTC)


# --- the poverty standards, re-implemented (the audit re-checks households' classes) --------
# Written from DOMAIN.md, not imported from households: an audit that borrowed the code it
# checks would agree with every bug in it.

#: The classes that decide who gets what; middle-income and not-poor both count as "other"
#: (no benefit turns on the difference, and the middle-income band is weakly sourced).
TARGETING_CLASSES = ("poor", "near_poor")

INDICATORS_2016 = frozenset(
    {
        "healthcare_access",
        "health_insurance",
        "adult_education",
        "child_school_attendance",
        "housing_quality",
        "housing_area_per_person",
        "water_source",
        "hygienic_latrine",
        "telecom_use",
        "information_assets",
    }
)
INDICATORS_2022 = frozenset(
    {
        "employment",
        "dependants",
        "nutrition",
        "health_insurance",
        "adult_education",
        "school_attendance",
        "housing_quality",
        "housing_area_per_person",
        "water",
        "latrine",
        "telecom",
        "information_assets",
    }
)


@dataclass(frozen=True)
class PovertyLine:
    """One instrument's lines (VND per person per month) and rule, in force on its dates."""

    instrument: str
    valid_from: date
    valid_to: date
    poverty_line: Mapping[str, int]
    near_poverty_line: Mapping[str, int] | None  # only the 2016 income-band rule has one
    indicators: frozenset[str]
    deprivation_threshold: int = 3

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_to


POVERTY_LINES: tuple[PovertyLine, ...] = (
    PovertyLine(
        "Decision 59/2015/QĐ-TTg (through 2021 by Decree 07/2021/NĐ-CP)",
        date(2016, 1, 1),
        date(2021, 12, 31),
        {"rural": 700_000, "urban": 900_000},
        {"rural": 1_000_000, "urban": 1_300_000},
        INDICATORS_2016,
    ),
    PovertyLine(
        "Decree 07/2021/NĐ-CP (kept for 2026 by Decree 351/2025/NĐ-CP)",
        date(2022, 1, 1),
        date(2026, 12, 31),
        {"rural": 1_500_000, "urban": 2_000_000},
        None,
        INDICATORS_2022,
    ),
    PovertyLine(
        "Decree 351/2025/NĐ-CP (indicator list unconfirmed: as 2022–2026)",
        date(2027, 1, 1),
        date(2030, 12, 31),
        {"rural": 2_200_000, "urban": 2_800_000},
        None,
        INDICATORS_2022,
    ),
)


def poverty_line_on(on: date) -> PovertyLine | None:
    """The standard in force on ``on`` (None outside 2016–2030)."""
    return next((line for line in POVERTY_LINES if line.in_force(on)), None)


def targeting_class(poverty_class: str) -> str:
    """poor, near_poor, or other (middle-income, not poor, unclassified)."""
    return poverty_class if poverty_class in TARGETING_CLASSES else "other"


def expected_class(
    area: str, income_per_person_month: int, deprived: Iterable[str], on: date
) -> str | None:
    """poor, near_poor or other under the standard in force on ``on``; None if none is.

    Only indicators the standard defines count as deprivations.
    """
    line = poverty_line_on(on)
    if line is None or area not in line.poverty_line:
        return None
    deprivations = len(set(deprived) & line.indicators)
    many = deprivations >= line.deprivation_threshold
    income, poverty = income_per_person_month, line.poverty_line[area]
    if line.near_poverty_line is None:  # 2022 onwards: income under the line, then count
        if income > poverty:
            return "other"
        return "poor" if many else "near_poor"
    if income <= poverty:
        return "poor"
    if income > line.near_poverty_line[area]:
        return "other"
    return "poor" if many else "near_poor"


def misclassified(recorded_class: str, expected: str | None) -> bool:
    """True when the recorded class is not the one the standard gives (None: not checkable)."""
    return expected is not None and targeting_class(recorded_class) != expected


# --- service standards and the rules measured against them ----------------------------------


@dataclass(frozen=True)
class AuditPolicy:
    """The yardsticks of the views and findings (AuditSettings; defaults from DOMAIN.md).

    Unconfirmed figures are marked; ``None`` for a standard means none is set (no on-time
    rate, no finding). ``clock`` pins the audit's "today" (tests, replays of past years).
    """

    card_service_standard_days: int = 30  # unconfirmed: entitlement → card
    excess_tolerance_days: int = 1  # the insurance sweep may take a day to revoke
    complaint_resolution_days: int = 30  # unconfirmed
    application_decision_days: int = 15  # regular review: decision or written refusal
    fall_into_poverty_working_days: int = 7
    housing_decision_days: int | None = None  # no legal figure: set one to measure it
    housing_disbursement_days: int | None = None
    posting_working_days: int = 3  # unconfirmed (DOMAIN.md)
    holidays: frozenset[date] = frozenset()
    poor_rate_reduction_pp: float | None = 1.5  # 2019 plan
    near_poor_rate_reduction_pp: float | None = 1.0
    clock: date | None = None

    def today(self) -> date:
        """The pinned clock, else the system date (UTC)."""
        return self.clock or datetime.now(UTC).date()


def complaint_due(filed_on: date, policy: AuditPolicy) -> date:
    """Last day to resolve a complaint."""
    return filed_on + timedelta(days=policy.complaint_resolution_days)


def application_due(kind: str, received_on: date, policy: AuditPolicy) -> date:
    """Last day to decide a regular-review application (a fall into poverty: working days)."""
    if kind == "fall_into_poverty":
        days = policy.fall_into_poverty_working_days
        return add_working_days(received_on, days, policy.holidays)
    return received_on + timedelta(days=policy.application_decision_days)


def posting_last_day(
    posted_on: date, required_working_days: int, stated_end: date | None, policy: AuditPolicy
) -> date:
    """Last day of a public posting: the stated end or the audit's own count, the later.

    The audit counts at least ``policy.posting_working_days`` (the posting day is day 1).
    """
    days = max(required_working_days, policy.posting_working_days)
    own = posting_end(posted_on, days, policy.holidays)
    return max(own, stated_end) if stated_end is not None else own


def meeting_qualifies(quorum_met: bool, attendees: int, agreeing: int) -> bool:
    """A village meeting with quorum where at least half the attendees agreed."""
    return quorum_met and attendees > 0 and 2 * agreeing >= attendees


def lag_summary(lags: Sequence[int]) -> tuple[float | None, float | None]:
    """(median, 90th percentile) in days; percentiles interpolate (inclusive method)."""
    if not lags:
        return None, None
    ordered = sorted(lags)
    if len(ordered) == 1:
        return float(ordered[0]), float(ordered[0])
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return float(statistics.median(ordered)), round(float(p90), 3)


#: Backlog age buckets in days (inclusive bounds; None: no upper bound).
BACKLOG_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 7), (8, 30), (31, 90), (91, None))


def backlog_counts(ages: Iterable[int]) -> list[tuple[str, int, int | None, int]]:
    """(label, min, max, count) per bucket of open cases by age in days."""
    ages = list(ages)
    out = []
    for low, high in BACKLOG_BUCKETS:
        label = f"{low}-{high}" if high is not None else f">{low - 1}"
        count = sum(1 for a in ages if a >= low and (high is None or a <= high))
        out.append((label, low, high, count))
    return out


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
