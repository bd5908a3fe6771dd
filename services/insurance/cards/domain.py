"""Pure rules of health-insurance cards: their states, validity, number and the service
standard for issuing them. Standard library and the service's own domain only.

Card number (VSS format, 15 characters), e.g. ``HN2891234567890``:

====  ==========================================================================
1–2   object code: the beneficiary group (``HN`` poor household, ``CN`` near-poor,
      ``TE`` child under 6, ``BT`` social-protection allowance, ``DT`` ethnic
      minority in a disadvantaged area, ``CC`` meritorious service)
3     benefit level 1–5 (1: 100% without ceilings, 2: 100% with ceilings, 3: 95%,
      4: 80%, 5: 100% incl. transport)
4–5   province code (2 digits; An Giang is 89)
6–15  the person's 10-digit social insurance number (mã số BHXH)
====  ==========================================================================
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from services.insurance.domain.entitlements import EntitlementView, best_entitlement
from services.insurance.domain.policies import (
    OBJECT_CODES,
    BeneficiaryGroup,
    InsuranceRuleViolation,
    LocalRules,
    policy_for,
)


class CardStatus(StrEnum):
    ACTIVE = "active"
    #: Reported active by the agency while the person already held the active card of
    #: record (the database allows one ``active`` card per person): a duplicate to resolve.
    DUPLICATE = "duplicate"
    RENEWED = "renewed"
    EXPIRED = "expired"
    REVOKED = "revoked"


CARD_TRANSITIONS: Mapping[CardStatus, frozenset[CardStatus]] = {
    CardStatus.ACTIVE: frozenset({CardStatus.RENEWED, CardStatus.EXPIRED, CardStatus.REVOKED}),
    CardStatus.DUPLICATE: frozenset({CardStatus.REVOKED}),
    CardStatus.RENEWED: frozenset(),
    CardStatus.EXPIRED: frozenset(),
    CardStatus.REVOKED: frozenset(),
}


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def card_valid_to(
    valid_from: date, entitlements: Iterable[EntitlementView], rules: LocalRules
) -> date:
    """Last valid day of a card from ``valid_from``: the configured validity, cut the day
    before the known end of the entitlement it is issued under (a child's 6th birthday: the
    TE card stops there, and a poor child then gets an HN card)."""
    best = best_entitlement(entitlements, valid_from)
    if best is None:
        raise InsuranceRuleViolation(f"no entitlement is current on {valid_from.isoformat()}")
    valid_to = add_months(valid_from, rules.card_validity_months) - timedelta(days=1)
    if best.ends_on is not None:
        valid_to = min(valid_to, best.ends_on - timedelta(days=1))
    return valid_to


@dataclass(frozen=True)
class CardNumber:
    object_code: str
    benefit_level: int
    province_code: str
    social_insurance_number: str

    def __str__(self) -> str:
        return (
            f"{self.object_code}{self.benefit_level}{self.province_code}"
            f"{self.social_insurance_number}"
        )


_CARD_NUMBER = re.compile(r"([A-Z]{2})([1-5])(\d{2})(\d{10})")
SOCIAL_INSURANCE_NUMBER = re.compile(r"\d{10}")


def parse_card_number(text: str) -> CardNumber:
    """A card number split into its parts; InsuranceRuleViolation if it is not one."""
    match = _CARD_NUMBER.fullmatch(text.strip())
    if match is None:
        raise InsuranceRuleViolation(
            f"{text!r} is not a 15-character card number "
            "(2-letter object code, benefit level 1–5, 2-digit province, 10-digit SI number)"
        )
    code, level, province, number = match.groups()
    if code not in OBJECT_CODES:
        raise InsuranceRuleViolation(f"object code {code} is not a state-paid group here")
    return CardNumber(code, int(level), province, number)


def card_number_for(
    group: BeneficiaryGroup, on: date, social_insurance_number: str, rules: LocalRules
) -> CardNumber:
    """The number of a card issued on ``on`` under ``group`` to the holder of the SI number."""
    if not SOCIAL_INSURANCE_NUMBER.fullmatch(social_insurance_number):
        raise InsuranceRuleViolation("a social insurance number has 10 digits")
    terms = policy_for(on).terms[group]
    return CardNumber(
        terms.object_code, terms.benefit_level, rules.province_code, social_insurance_number
    )


def assert_card_transition(current: str, target: CardStatus) -> None:
    if target not in CARD_TRANSITIONS[CardStatus(current)]:
        raise InsuranceRuleViolation(f"a {current} card cannot become {target}")


# ---------------------------------------------------------------------- service standard


def issue_due_on(waiting_since: date, rules: LocalRules) -> date:
    """The day by which a card should be issued to a person entitled since ``waiting_since``."""
    return waiting_since + timedelta(days=rules.service_standard_days)


def waiting_since(entitled_since: date, cards_ended_on: Collection[date]) -> date:
    """Since when a person has waited for a card: entitled since, or since their last card ended."""
    return max([entitled_since, *cards_ended_on])
