"""Pure rules of the insurance service: who is entitled to a state-paid health-insurance card,
at what subsidy share under which policy, and what the card says. Standard library only.

Every figure that changes over time is a row of :data:`POLICIES` (one per decree, with its
validity dates); what a locality decides itself (designated poor communes, the near-poor
share above the national minimum, the grace after leaving poverty, the card validity, the
service standard) is :class:`LocalRules`, built from settings.

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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum

#: Vietnam has one time zone and no daylight saving: UTC+7.
VIETNAM = timezone(timedelta(hours=7), "ICT")


class BeneficiaryGroup(StrEnum):
    POOR_HOUSEHOLD = "poor_household"
    NEAR_POOR_HOUSEHOLD = "near_poor_household"
    CHILD_UNDER_6 = "child_under_6"
    SOCIAL_PROTECTION_ALLOWANCE = "social_protection_allowance"
    ETHNIC_MINORITY_DISADVANTAGED_AREA = "ethnic_minority_disadvantaged_area"
    MERITORIOUS_SERVICE = "meritorious_service"


#: Groups an operator records from a decision (no event of another service implies them).
OPERATOR_GROUPS = frozenset(
    {
        BeneficiaryGroup.SOCIAL_PROTECTION_ALLOWANCE,
        BeneficiaryGroup.ETHNIC_MINORITY_DISADVANTAGED_AREA,
        BeneficiaryGroup.MERITORIOUS_SERVICE,
    }
)
#: Poverty class of a household -> the group its members belong to.
HOUSEHOLD_GROUPS: Mapping[str, BeneficiaryGroup] = {
    "poor": BeneficiaryGroup.POOR_HOUSEHOLD,
    "near_poor": BeneficiaryGroup.NEAR_POOR_HOUSEHOLD,
}


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


class InsuranceRuleViolation(ValueError):
    """A request the rules refuse; the message says why."""


class NoPolicyInForce(InsuranceRuleViolation):
    """No policy covers the date."""


@dataclass(frozen=True)
class GroupTerms:
    """What one group gets under one policy."""

    object_code: str
    benefit_level: int
    subsidy_percent: int  # the state's share of the premium


@dataclass(frozen=True)
class InsurancePolicy:
    """One decree: the groups it pays for and on what terms, in force on its own dates."""

    code: str
    title: str
    valid_from: date
    valid_to: date | None
    terms: Mapping[BeneficiaryGroup, GroupTerms] = field(hash=False)
    near_poor_minimum_percent: int
    near_poor_in_poor_commune_percent: int
    notes: tuple[str, ...] = ()

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


def _terms(near_poor_percent: int) -> dict[BeneficiaryGroup, GroupTerms]:
    # Object codes and benefit levels as VSS prints them (Decision 1351/QĐ-BHXH).
    return {
        BeneficiaryGroup.POOR_HOUSEHOLD: GroupTerms("HN", 2, 100),
        BeneficiaryGroup.NEAR_POOR_HOUSEHOLD: GroupTerms("CN", 3, near_poor_percent),
        BeneficiaryGroup.CHILD_UNDER_6: GroupTerms("TE", 1, 100),
        BeneficiaryGroup.SOCIAL_PROTECTION_ALLOWANCE: GroupTerms("BT", 2, 100),
        BeneficiaryGroup.ETHNIC_MINORITY_DISADVANTAGED_AREA: GroupTerms("DT", 2, 100),
        BeneficiaryGroup.MERITORIOUS_SERVICE: GroupTerms("CC", 1, 100),
    }


POLICIES: tuple[InsurancePolicy, ...] = (
    InsurancePolicy(
        code="ND-146-2018",
        title="Decree 146/2018/NĐ-CP",
        valid_from=date(2018, 12, 1),
        valid_to=date(2025, 8, 14),
        terms=_terms(70),
        near_poor_minimum_percent=70,
        near_poor_in_poor_commune_percent=100,
        notes=("near-poor: at least 70%, 100% in poor districts and communes",),
    ),
    InsurancePolicy(
        code="ND-188-2025",
        title="Decree 188/2025/NĐ-CP",
        valid_from=date(2025, 8, 15),
        valid_to=None,
        terms=_terms(70),
        near_poor_minimum_percent=70,
        near_poor_in_poor_commune_percent=100,
        notes=(
            "shares as DOMAIN.md states them; changes against Decree 146 unconfirmed",
            "two-tier administration: poor areas designated per commune",
        ),
    ),
)

OBJECT_CODES: Mapping[str, BeneficiaryGroup] = {
    terms.object_code: group for group, terms in POLICIES[-1].terms.items()
}


def policy_for(on: date) -> InsurancePolicy:
    """The policy in force on ``on``; NoPolicyInForce before Decree 146/2018."""
    for policy in POLICIES:
        if policy.in_force(on):
            return policy
    raise NoPolicyInForce(f"no health-insurance policy in force on {on.isoformat()}")


@dataclass(frozen=True)
class LocalRules:
    """What the locality configures (settings ANSINH_INSURANCE_*)."""

    poor_communes: frozenset[str] = frozenset()
    near_poor_percent: int = 70
    household_exit_grace_days: int = 0
    card_validity_months: int = 12
    service_standard_days: int = 30
    province_code: str = "89"

    def __post_init__(self) -> None:
        if not 0 <= self.near_poor_percent <= 100:
            raise ValueError("near_poor_percent is a percentage (0–100)")
        if self.household_exit_grace_days < 0 or self.service_standard_days < 0:
            raise ValueError("grace and service standard are days (≥ 0)")
        if self.card_validity_months < 1:
            raise ValueError("a card is valid for at least one month")
        if not re.fullmatch(r"\d{2}", self.province_code):
            raise ValueError("province_code is two digits")


def subsidy_percent(
    group: BeneficiaryGroup, commune_code: str, on: date, rules: LocalRules
) -> tuple[InsurancePolicy, int]:
    """The policy in force on ``on`` and the state's share of the premium for ``group``."""
    policy = policy_for(on)
    if group is BeneficiaryGroup.NEAR_POOR_HOUSEHOLD:
        if commune_code in rules.poor_communes:
            return policy, policy.near_poor_in_poor_commune_percent
        return policy, max(policy.near_poor_minimum_percent, rules.near_poor_percent)
    return policy, policy.terms[group].subsidy_percent


# --------------------------------------------------------------------- entitlement dates


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


# ------------------------------------------------------------------------------- cards


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
