"""Pure rules of housing support: programme policies (versioned data), poor-list membership,
eligibility, priority groups, the public posting of the commune list and the yearly quota.
Loan arithmetic lives in `loan_rules` and is re-exported here. Standard library only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum, StrEnum

from services.housing.loan_rules import (
    Allocation,
    Instalment,
    InstalmentState,
    LoanRuleViolation,
    LoanStatement,
    LoanStatus,
    LoanTerms,
    Payment,
    anniversary,
    loan_statement,
    repayment_schedule,
    yearly_interest,
)
from shared.workdays import add_working_days, posting_end

__all__ = [
    "POLICIES",
    "Allocation",
    "ClassEntry",
    "EligibilityFacts",
    "EligibilityRule",
    "HouseCondition",
    "Instalment",
    "InstalmentState",
    "ListPolicy",
    "LoanRuleViolation",
    "LoanStatement",
    "LoanStatus",
    "LoanTerms",
    "Payment",
    "PriorityFlags",
    "PriorityGroup",
    "ProgrammePolicy",
    "RankedApplication",
    "RuleFailure",
    "UnknownPolicy",
    "add_working_days",
    "anniversary",
    "approval_blocker",
    "assess_eligibility",
    "listed_class_on",
    "loan_statement",
    "policy_by_code",
    "policy_for",
    "posting_period_end",
    "priority_group",
    "rank_applications",
    "repayment_schedule",
    "split_by_quota",
    "yearly_interest",
]


class HouseCondition(StrEnum):
    NONE = "none"
    MAKESHIFT = "makeshift"
    DILAPIDATED = "dilapidated"
    ADEQUATE = "adequate"


#: Conditions that qualify a house for support under every programme.
QUALIFYING_CONDITIONS = frozenset(
    {HouseCondition.NONE, HouseCondition.MAKESHIFT, HouseCondition.DILAPIDATED}
)


# --- programme policies ----------------------------------------------------------------------


class UnknownPolicy(LookupError):
    """No programme policy by that code, or none in force on that date."""


@dataclass(frozen=True)
class ProgrammePolicy:
    """One housing-support programme: who may borrow, and on which loan terms."""

    code: str
    title: str
    valid_from: date
    valid_to: date
    eligible_classes: frozenset[str]
    max_loan: int = 25_000_000
    annual_rate_bp: int = 300
    overdue_rate_percent: int = 130
    term_years: int = 15
    grace_years: int = 5
    min_principal_percent_per_year: int = 10
    min_independent_years: int = 5
    repeat_support_after_years: int = 8
    #: A house with less floor area per person qualifies even when otherwise adequate.
    crowded_below_m2_per_person: int | None = None
    notes: tuple[str, ...] = ()

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_to

    def terms(self, principal: int) -> LoanTerms:
        return LoanTerms(
            principal=principal,
            annual_rate_bp=self.annual_rate_bp,
            overdue_rate_percent=self.overdue_rate_percent,
            term_years=self.term_years,
            grace_years=self.grace_years,
            min_principal_percent_per_year=self.min_principal_percent_per_year,
        )


POLICIES: tuple[ProgrammePolicy, ...] = (
    ProgrammePolicy(
        code="QD33-2015",
        title="Decision 33/2015/QĐ-TTg: housing support for poor households",
        valid_from=date(2015, 10, 1),
        valid_to=date(2021, 12, 31),
        eligible_classes=frozenset({"poor"}),
        notes=("valid_from (1 Oct 2015) unconfirmed; ends when the 2022 successor begins",),
    ),
    ProgrammePolicy(
        code="TT01-2022",
        title="Circular 01/2022/TT-BXD: housing support for poor and near-poor households",
        valid_from=date(2022, 1, 1),
        valid_to=date(2025, 12, 31),
        eligible_classes=frozenset({"poor", "near_poor"}),
        crowded_below_m2_per_person=8,
        notes=(
            "loan figures unconfirmed: Decision 33/2015 terms carried over",
            "validity 2022–2025 per the programme period",
        ),
    ),
)


def policy_by_code(code: str) -> ProgrammePolicy:
    for policy in POLICIES:
        if policy.code == code:
            return policy
    raise UnknownPolicy(f"unknown programme policy {code!r}")


def policy_for(on: date) -> ProgrammePolicy:
    """The programme in force on ``on``; UnknownPolicy when none is."""
    for policy in POLICIES:
        if policy.in_force(on):
            return policy
    raise UnknownPolicy(f"no housing-support programme is in force on {on.isoformat()}")


# --- poor-list membership --------------------------------------------------------------------


@dataclass(frozen=True)
class ClassEntry:
    """A recognised class change of a household, in the order it was received (``seq``)."""

    seq: int
    to_class: str
    effective_date: date
    review_id: str | None


def listed_class_on(
    entries: Sequence[ClassEntry], recognitions: Mapping[str, date], on: date
) -> str | None:
    """The household's class on the commune list on ``on``; None if it was never classified.

    A change made in a periodic review counts only once the commune chair recognised that
    review (``recognitions``: review id → recognition date), and from the later of its
    effective date and the recognition; other changes count from their effective date.
    """
    best: tuple[date, int, str] | None = None
    for entry in entries:
        counts_from = entry.effective_date
        if entry.review_id is not None:
            recognised_on = recognitions.get(entry.review_id)
            if recognised_on is None:
                continue
            counts_from = max(counts_from, recognised_on)
        if counts_from <= on and (best is None or (counts_from, entry.seq) > best[:2]):
            best = (counts_from, entry.seq, entry.to_class)
    return best[2] if best else None


# --- eligibility -----------------------------------------------------------------------------


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


# --- priority and ranking --------------------------------------------------------------------


class PriorityGroup(IntEnum):
    """The seven priority groups of Decision 33/2015, 1 first."""

    ELDERLY_LONE_OR_DISABLED = 1
    ETHNIC_MINORITY = 2
    DISASTER_PRONE_AREA = 3
    EXTREMELY_DIFFICULT_VILLAGE = 4
    DIFFICULT_COMMUNE = 5
    POOR_DISTRICT_30A = 6
    OTHERS = 7


@dataclass(frozen=True)
class PriorityFlags:
    elderly_lone_or_disabled: bool = False
    ethnic_minority: bool = False
    disaster_prone_area: bool = False
    extremely_difficult_village: bool = False
    difficult_commune: bool = False
    poor_district_30a: bool = False


def priority_group(flags: PriorityFlags) -> PriorityGroup:
    """The most urgent group the household belongs to (group 7 when none applies)."""
    for group, applies in (
        (PriorityGroup.ELDERLY_LONE_OR_DISABLED, flags.elderly_lone_or_disabled),
        (PriorityGroup.ETHNIC_MINORITY, flags.ethnic_minority),
        (PriorityGroup.DISASTER_PRONE_AREA, flags.disaster_prone_area),
        (PriorityGroup.EXTREMELY_DIFFICULT_VILLAGE, flags.extremely_difficult_village),
        (PriorityGroup.DIFFICULT_COMMUNE, flags.difficult_commune),
        (PriorityGroup.POOR_DISTRICT_30A, flags.poor_district_30a),
    ):
        if applies:
            return group
    return PriorityGroup.OTHERS


@dataclass(frozen=True)
class RankedApplication:
    application_id: str
    priority_group: int
    applied_on: date
    rank: int = 0


def rank_applications(candidates: Sequence[RankedApplication]) -> list[RankedApplication]:
    """Ranked 1.. by priority group, then earlier application, then id (a stable tie-break)."""
    ordered = sorted(candidates, key=lambda c: (c.priority_group, c.applied_on, c.application_id))
    return [
        RankedApplication(c.application_id, c.priority_group, c.applied_on, rank)
        for rank, c in enumerate(ordered, start=1)
    ]


def split_by_quota(
    ranked: Sequence[RankedApplication], remaining_quota: int
) -> tuple[list[RankedApplication], list[RankedApplication]]:
    """(approved, beyond the quota): the best-ranked ``remaining_quota`` are approved."""
    cut = max(0, remaining_quota)
    ordered = sorted(ranked, key=lambda r: r.rank)
    return ordered[:cut], ordered[cut:]


# --- public posting before approval ----------------------------------------------------------


def posting_period_end(posted_on: date, working_days: int, holidays: Collection[date] = ()) -> date:
    """Last day of the public posting; the posting day counts when it is a working day."""
    return posting_end(posted_on, working_days, holidays)


def approval_blocker(posting_ends_on: date, approve_on: date) -> str | None:
    """Why the list may not be approved on ``approve_on`` (None: it may)."""
    if approve_on <= posting_ends_on:
        return (
            f"the list is publicly posted until {posting_ends_on.isoformat()}: "
            f"approve from {(posting_ends_on + timedelta(days=1)).isoformat()}"
        )
    return None


# --- locality's list policy ------------------------------------------------------------------


@dataclass(frozen=True)
class ListPolicy:
    """How a commune's approval list is posted and approved (configurable per locality).

    - posting_working_days: days the list stays publicly posted before approval.
      UNCONFIRMED default 3, as the poverty review's posting.
    - yearly_quota_per_commune: approvals per commune per year. UNCONFIRMED default 50;
      ``commune_quotas`` overrides it for named communes (the province's allocation).
    """

    posting_working_days: int = 3
    yearly_quota_per_commune: int = 50
    commune_quotas: Mapping[str, int] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.posting_working_days < 0 or self.yearly_quota_per_commune < 0:
            raise ValueError("posting days and quotas must be ≥ 0")
        if any(q < 0 for q in self.commune_quotas.values()):
            raise ValueError("commune quotas must be ≥ 0")

    def quota_for(self, commune_code: str) -> int:
        return self.commune_quotas.get(commune_code, self.yearly_quota_per_commune)
