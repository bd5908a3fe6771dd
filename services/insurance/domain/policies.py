"""Who is entitled to a state-paid health-insurance card, at what subsidy share, under
which policy. Standard library only.

Every figure that changes over time is a row of :data:`POLICIES` (one per decree, with its
validity dates); what a locality decides itself (designated poor communes, the near-poor
share above the national minimum, the grace after leaving poverty, the card validity, the
service standard) is :class:`LocalRules`, built from settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


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
