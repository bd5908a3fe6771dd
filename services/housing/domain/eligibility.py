"""Eligibility for housing support: each rule an application must pass, and why it failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.housing.domain.policies import ProgrammePolicy


class HouseCondition(StrEnum):
    NONE = "none"
    MAKESHIFT = "makeshift"
    DILAPIDATED = "dilapidated"
    ADEQUATE = "adequate"


#: Conditions that qualify a house for support under every programme.
QUALIFYING_CONDITIONS = frozenset(
    {HouseCondition.NONE, HouseCondition.MAKESHIFT, HouseCondition.DILAPIDATED}
)


class EligibilityRule(StrEnum):
    """Each rule an application must pass; its code is what a refusal names."""

    ON_POOR_LIST = "on_poor_list"
    INDEPENDENT_HOUSEHOLD_YEARS = "independent_household_years"
    HOUSE_CONDITION = "house_condition"
    NO_RECENT_SUPPORT = "no_recent_support"


@dataclass(frozen=True)
class RuleFailure:
    rule: EligibilityRule
    reason: str


@dataclass(frozen=True)
class EligibilityFacts:
    """What the service knows about an applicant on the application date."""

    applied_on: date
    listed_class: str | None
    independent_since_year: int | None
    house_condition: HouseCondition
    floor_area_m2: float | None = None
    residents: int | None = None
    prior_support_year: int | None = None
    house_destroyed_by_disaster: bool = False


def _crowded(policy: ProgrammePolicy, facts: EligibilityFacts) -> bool:
    limit = policy.crowded_below_m2_per_person
    if limit is None or facts.floor_area_m2 is None or not facts.residents:
        return False
    return facts.floor_area_m2 < limit * facts.residents


def assess_eligibility(policy: ProgrammePolicy, facts: EligibilityFacts) -> tuple[RuleFailure, ...]:
    """Every rule the application fails (empty: eligible), each with its reason."""
    failures: list[RuleFailure] = []
    listed = facts.listed_class
    if listed not in policy.eligible_classes:
        wanted = " or ".join(sorted(policy.eligible_classes))
        failures.append(
            RuleFailure(
                EligibilityRule.ON_POOR_LIST,
                f"not on the commune {wanted} list on {facts.applied_on.isoformat()} "
                f"(listed class: {listed or 'none'})",
            )
        )
    since = facts.independent_since_year
    years = None if since is None else facts.applied_on.year - since
    if years is None or years < policy.min_independent_years:
        failures.append(
            RuleFailure(
                EligibilityRule.INDEPENDENT_HOUSEHOLD_YEARS,
                f"an independent household for {'an unknown number of' if years is None else years}"
                f" years; {policy.min_independent_years} required",
            )
        )
    if facts.house_condition not in QUALIFYING_CONDITIONS and not _crowded(policy, facts):
        crowding = (
            f" and not below {policy.crowded_below_m2_per_person} m² per person"
            if policy.crowded_below_m2_per_person
            else ""
        )
        failures.append(
            RuleFailure(EligibilityRule.HOUSE_CONDITION, f"the house is adequate{crowding}")
        )
    prior = facts.prior_support_year
    if prior is not None and not facts.house_destroyed_by_disaster:
        since_support = facts.applied_on.year - prior
        if since_support < policy.repeat_support_after_years:
            failures.append(
                RuleFailure(
                    EligibilityRule.NO_RECENT_SUPPORT,
                    f"supported in {prior}, {since_support} years ago; repeat support needs "
                    f"{policy.repeat_support_after_years} years or a house destroyed by disaster",
                )
            )
    return tuple(failures)
