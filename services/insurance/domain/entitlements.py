"""Dates of cover: the day in Vietnam, a child's 6th birthday, when an entitlement covers a
day and when leaving a household class ends it; which entitlement a card is issued under.
Standard library only."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from services.insurance.domain.policies import (
    HOUSEHOLD_GROUPS,
    BeneficiaryGroup,
    InsuranceRuleViolation,
    LocalRules,
    policy_for,
)

#: Vietnam has one time zone and no daylight saving: UTC+7.
VIETNAM = timezone(timedelta(hours=7), "ICT")


def local_date(moment: datetime) -> date:
    """The calendar day in Vietnam at ``moment`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).date()


def sixth_birthday(date_of_birth: date) -> date:
    """The day a child turns 6 (29 February births: 1 March in a common year)."""
    year = date_of_birth.year + 6
    if date_of_birth.month == 2 and date_of_birth.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return date_of_birth.replace(year=year)


def is_under_six(date_of_birth: date, on: date) -> bool:
    return date_of_birth <= on < sixth_birthday(date_of_birth)


def is_current(starts_on: date, ends_on: date | None, on: date) -> bool:
    """Whether an entitlement covers ``on`` (``ends_on`` is the first day not covered)."""
    return starts_on <= on and (ends_on is None or on < ends_on)


def household_entitlement_end(
    from_class: str, to_class: str, effective_date: date, rules: LocalRules
) -> date:
    """First day not covered by the entitlement of a household class it has just left.

    Moving up to a better-paid class hands over on the effective date; any other exit
    (out of poverty, or from poor to near-poor) keeps cover for the configured grace.
    """
    leaving = HOUSEHOLD_GROUPS.get(from_class)
    if leaving is None:
        raise InsuranceRuleViolation(f"class {from_class!r} carries no entitlement to end")
    if from_class == "near_poor" and to_class == "poor":
        return effective_date
    return effective_date + timedelta(days=rules.household_exit_grace_days)


@dataclass(frozen=True)
class EntitlementView:
    """An entitlement as the card rules see it."""

    group: BeneficiaryGroup
    subsidy_percent: int
    starts_on: date
    ends_on: date | None
    entitlement_id: str = ""


def best_entitlement(entitlements: Iterable[EntitlementView], on: date) -> EntitlementView | None:
    """The entitlement a card is issued under: highest subsidy, then best benefit level."""
    current = [e for e in entitlements if is_current(e.starts_on, e.ends_on, on)]
    if not current:
        return None
    order = list(BeneficiaryGroup)

    def rank(e: EntitlementView) -> tuple[int, int, int]:
        level = policy_for(on).terms[e.group].benefit_level
        return (-e.subsidy_percent, level, order.index(e.group))

    return min(current, key=rank)
