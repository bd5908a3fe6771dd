"""Pure loan arithmetic of housing support: the repayment schedule and the loan statement.

Standard library only; money is integer đồng throughout, rates are integer basis points,
and every division is an integer division with its rounding stated:

- Principal: from the first year after the grace period, each yearly instalment repays
  ``ceil(principal × min_share)`` đồng (so "at least 10% a year" holds in whole đồng),
  capped at what is still outstanding; the last instalment takes the remainder.
- Interest of a repayment year: ``floor(outstanding × rate_bp / 10_000)`` on the principal
  outstanding on the first day of that year — a fraction of a đồng is never charged.
  Grace years carry neither principal nor interest (docs/domain.md, Decision 33/2015).
- Overdue interest: on overdue principal only, at the overdue rate, actual days / 365,
  ``floor`` per period between two events (a payment or the statement date).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

BASIS_POINTS = 10_000
DAYS_PER_YEAR = 365


class LoanRuleViolation(ValueError):
    """A loan operation the rules do not allow; ``field`` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LoanTerms:
    """The terms a loan was granted on (copied from the programme policy at approval)."""

    principal: int
    annual_rate_bp: int = 300
    overdue_rate_percent: int = 130
    term_years: int = 15
    grace_years: int = 5
    min_principal_percent_per_year: int = 10

    def __post_init__(self) -> None:
        if self.principal <= 0:
            raise LoanRuleViolation("principal must be > 0 đồng", "principal")
        if not 0 <= self.grace_years < self.term_years:
            raise LoanRuleViolation("grace must be shorter than the term", "grace_years")
        if self.annual_rate_bp < 0 or self.overdue_rate_percent < 0:
            raise LoanRuleViolation("rates must be ≥ 0", "annual_rate_bp")
        if not 0 < self.min_principal_percent_per_year <= 100:
            raise LoanRuleViolation("minimum yearly share must be 1–100%", "min_principal")

    @property
    def repayment_years(self) -> int:
        return self.term_years - self.grace_years

    @property
    def overdue_rate_bp(self) -> int:
        """Overdue rate in basis points (130% of 300 bp = 390 bp), rounded down."""
        return self.annual_rate_bp * self.overdue_rate_percent // 100

    @property
    def yearly_principal(self) -> int:
        """Principal repaid each repayment year (the last one takes the remainder)."""
        by_share = -(-self.principal * self.min_principal_percent_per_year // 100)
        by_term = -(-self.principal // self.repayment_years)  # so the term is always enough
        return max(by_share, by_term)


@dataclass(frozen=True)
class Instalment:
    """One repayment year: ``starts_on`` ≤ year < ``due_on``, paid on ``due_on``."""

    year: int
    starts_on: date
    due_on: date
    outstanding_before: int
    principal: int
    interest: int

    @property
    def total(self) -> int:
        return self.principal + self.interest


def anniversary(start: date, years: int) -> date:
    """``start`` moved by whole years; 29 February becomes 28 February in common years."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def yearly_interest(outstanding: int, annual_rate_bp: int) -> int:
    """A year's interest on ``outstanding`` đồng, rounded down to the đồng."""
    return outstanding * annual_rate_bp // BASIS_POINTS


def repayment_schedule(terms: LoanTerms, disbursed_on: date) -> tuple[Instalment, ...]:
    """The yearly instalments after the grace period; their principals sum to the loan."""
    instalments: list[Instalment] = []
    outstanding = terms.principal
    for year in range(terms.grace_years + 1, terms.term_years + 1):
        last = year == terms.term_years
        principal = outstanding if last else min(terms.yearly_principal, outstanding)
        instalments.append(
            Instalment(
                year=year,
                starts_on=anniversary(disbursed_on, year - 1),
                due_on=anniversary(disbursed_on, year),
                outstanding_before=outstanding,
                principal=principal,
                interest=yearly_interest(outstanding, terms.annual_rate_bp),
            )
        )
        outstanding -= principal
    return tuple(instalments)


# --- statement: payments replayed against the schedule ---------------------------------------


class LoanStatus(StrEnum):
    CURRENT = "current"
    OVERDUE = "overdue"
    REPAID = "repaid"


@dataclass(frozen=True)
class Payment:
    paid_on: date
    amount: int


@dataclass(frozen=True)
class Allocation:
    """How one payment was applied."""

    paid_on: date
    amount: int
    overdue_interest: int
    interest: int
    principal: int


@dataclass
class InstalmentState:
    """An instalment with what was charged and paid on it so far."""

    instalment: Instalment
    interest: int  # fixed on the year's first day; lower than scheduled after prepayments
    interest_fixed: bool = False
    principal_paid: int = 0
    interest_paid: int = 0
    overdue_interest: int = 0
    overdue_interest_paid: int = 0
    accrued_until: date | None = None

    @property
    def principal_unpaid(self) -> int:
        return self.instalment.principal - self.principal_paid

    @property
    def interest_unpaid(self) -> int:
        return self.interest - self.interest_paid if self.interest_fixed else 0

    @property
    def overdue_interest_unpaid(self) -> int:
        return self.overdue_interest - self.overdue_interest_paid

    def overdue_on(self, day: date) -> bool:
        owed = self.principal_unpaid + self.interest_unpaid + self.overdue_interest_unpaid
        return self.instalment.due_on < day and owed > 0


@dataclass(frozen=True)
class LoanStatement:
    """A loan as of ``as_of``: each instalment's state, every payment's allocation, totals."""

    as_of: date
    instalments: tuple[InstalmentState, ...]
    allocations: tuple[Allocation, ...]
    outstanding_principal: int
    overdue_principal: int
    overdue_interest_unpaid: int
    due_now: int
    payable_now: int
    days_overdue: int
    status: LoanStatus


def _fix_interest(state: InstalmentState, states: Sequence[InstalmentState], rate_bp: int) -> None:
    # Principal of this and later instalments already paid was prepaid: it bears no interest.
    prepaid = sum(s.principal_paid for s in states if s.instalment.year >= state.instalment.year)
    base = max(0, state.instalment.outstanding_before - prepaid)
    state.interest = yearly_interest(base, rate_bp)
    state.interest_fixed = True


def _advance(states: Sequence[InstalmentState], terms: LoanTerms, day: date) -> None:
    """Fix interest of years begun by ``day``; accrue overdue interest up to ``day``."""
    for state in states:
        if not state.interest_fixed and state.instalment.starts_on <= day:
            _fix_interest(state, states, terms.annual_rate_bp)
        due = state.instalment.due_on
        if due < day and state.principal_unpaid > 0:
            start = max(due, state.accrued_until or due)
            days = (day - start).days
            if days > 0:
                state.overdue_interest += (
                    state.principal_unpaid
                    * terms.overdue_rate_bp
                    * days
                    // (BASIS_POINTS * DAYS_PER_YEAR)
                )
        if due < day:
            state.accrued_until = max(day, state.accrued_until or day)


def _take(amount: int, owed: int) -> tuple[int, int]:
    paid = min(amount, owed)
    return paid, amount - paid


def _apply(states: Sequence[InstalmentState], payment: Payment) -> Allocation:
    """Oldest due instalment first (overdue interest, interest, principal); the rest prepays
    principal of the coming instalments, then the running year's interest."""
    left = payment.amount
    overdue_paid = interest_paid = principal_paid = 0
    for state in states:
        if state.instalment.due_on > payment.paid_on:
            continue
        paid, left = _take(left, state.overdue_interest_unpaid)
        state.overdue_interest_paid += paid
        overdue_paid += paid
        paid, left = _take(left, state.interest_unpaid)
        state.interest_paid += paid
        interest_paid += paid
        paid, left = _take(left, state.principal_unpaid)
        state.principal_paid += paid
        principal_paid += paid
    for state in states:
        if state.instalment.due_on > payment.paid_on:
            paid, left = _take(left, state.principal_unpaid)
            state.principal_paid += paid
            principal_paid += paid
    for state in states:
        if state.instalment.due_on > payment.paid_on:
            paid, left = _take(left, state.interest_unpaid)
            state.interest_paid += paid
            interest_paid += paid
    if left:
        raise LoanRuleViolation(
            f"payment exceeds what can be paid on {payment.paid_on.isoformat()} by {left} đồng",
            "amount",
        )
    return Allocation(payment.paid_on, payment.amount, overdue_paid, interest_paid, principal_paid)


def loan_statement(
    terms: LoanTerms, disbursed_on: date, payments: Sequence[Payment], as_of: date
) -> LoanStatement:
    """Replay ``payments`` (in date order) against the schedule and total up as of ``as_of``.

    LoanRuleViolation (field ``paid_on`` or ``amount``) for a payment before disbursement,
    out of date order, after ``as_of``, not positive, or larger than what is payable.
    """
    states = [InstalmentState(i, i.interest) for i in repayment_schedule(terms, disbursed_on)]
    allocations: list[Allocation] = []
    previous = disbursed_on
    for payment in payments:
        if payment.paid_on < previous:
            raise LoanRuleViolation(
                f"payments are recorded in date order from disbursement "
                f"({previous.isoformat()}): got {payment.paid_on.isoformat()}",
                "paid_on",
            )
        if payment.paid_on > as_of:
            raise LoanRuleViolation("payment is after the statement date", "paid_on")
        if payment.amount <= 0:
            raise LoanRuleViolation("a payment must be > 0 đồng", "amount")
        _advance(states, terms, payment.paid_on)
        allocations.append(_apply(states, payment))
        previous = payment.paid_on
    _advance(states, terms, as_of)
    return _totals(states, allocations, as_of)


def _totals(
    states: Sequence[InstalmentState], allocations: Sequence[Allocation], as_of: date
) -> LoanStatement:
    due = [s for s in states if s.instalment.due_on <= as_of]
    overdue = [s for s in states if s.overdue_on(as_of)]
    outstanding = sum(s.principal_unpaid for s in states)
    owed_overdue_interest = sum(s.overdue_interest_unpaid for s in states)
    due_now = sum(s.principal_unpaid + s.interest_unpaid for s in due) + owed_overdue_interest
    payable = outstanding + sum(s.interest_unpaid for s in states) + owed_overdue_interest
    if payable == 0:
        status = LoanStatus.REPAID
    elif overdue:
        status = LoanStatus.OVERDUE
    else:
        status = LoanStatus.CURRENT
    return LoanStatement(
        as_of=as_of,
        instalments=tuple(replace(s) for s in states),
        allocations=tuple(allocations),
        outstanding_principal=outstanding,
        overdue_principal=sum(s.principal_unpaid for s in overdue),
        overdue_interest_unpaid=owed_overdue_interest,
        due_now=due_now,
        payable_now=payable,
        days_overdue=(as_of - overdue[0].instalment.due_on).days if overdue else 0,
        status=status,
    )
