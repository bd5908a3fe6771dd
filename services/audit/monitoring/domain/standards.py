"""The service standards the views and findings measure against, and the rules that use them:
deadlines of complaints and applications, public postings, village meetings, lag statistics.

Pure rules: standard library and shared.workdays only.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.workdays import add_working_days, posting_end


@dataclass(frozen=True)
class AuditPolicy:
    """The yardsticks of the views and findings (AuditSettings; defaults from docs/domain.md).

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
    posting_working_days: int = 3  # unconfirmed (docs/domain.md)
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
