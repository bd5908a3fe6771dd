"""Pure rules of housing support: programme policies (versioned data), poor-list membership,
eligibility, priority groups, the public posting of the commune list and the yearly quota.
Loan arithmetic is in `services.housing.loans.domain`. Standard library only, plus the
platform's working-day arithmetic (shared.workdays, itself pure) for the posting period.
"""

from __future__ import annotations

from services.housing.domain.approval_list import ListPolicy, approval_blocker, posting_period_end
from services.housing.domain.eligibility import (
    QUALIFYING_CONDITIONS,
    EligibilityFacts,
    EligibilityRule,
    HouseCondition,
    RuleFailure,
    assess_eligibility,
)
from services.housing.domain.policies import (
    POLICIES,
    ProgrammePolicy,
    UnknownPolicy,
    policy_by_code,
    policy_for,
)
from services.housing.domain.poor_list import ClassEntry, listed_class_on
from services.housing.domain.priority import (
    PriorityFlags,
    PriorityGroup,
    RankedApplication,
    priority_group,
    rank_applications,
    split_by_quota,
)

__all__ = [
    "POLICIES",
    "QUALIFYING_CONDITIONS",
    "ClassEntry",
    "EligibilityFacts",
    "EligibilityRule",
    "HouseCondition",
    "ListPolicy",
    "PriorityFlags",
    "PriorityGroup",
    "ProgrammePolicy",
    "RankedApplication",
    "RuleFailure",
    "UnknownPolicy",
    "approval_blocker",
    "assess_eligibility",
    "listed_class_on",
    "policy_by_code",
    "policy_for",
    "posting_period_end",
    "priority_group",
    "rank_applications",
    "split_by_quota",
]
