"""Housing-support programmes as versioned data: who may borrow, on which loan terms, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.housing.loans.domain import LoanTerms


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
