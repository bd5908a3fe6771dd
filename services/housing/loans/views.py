"""Loans, schedules and construction as the API shows them (loans/schemas.py)."""

from __future__ import annotations

from datetime import date

from services.housing.loans.domain import LoanStatement, LoanTerms, repayment_schedule
from services.housing.loans.records import loan_terms
from services.housing.loans.schemas import (
    AllocationOut,
    ConstructionOut,
    InstalmentOut,
    LoanOut,
    ScheduleOut,
)
from services.housing.models import Construction, Loan


def schedule_view(terms: LoanTerms, disbursed_on: date) -> ScheduleOut:
    """The yearly instalments of a loan on ``terms`` paid out on ``disbursed_on``."""
    instalments = repayment_schedule(terms, disbursed_on)
    return ScheduleOut(
        principal=terms.principal,
        annual_rate_bp=terms.annual_rate_bp,
        overdue_rate_bp=terms.overdue_rate_bp,
        term_years=terms.term_years,
        grace_years=terms.grace_years,
        disbursed_on=disbursed_on,
        total_interest=sum(i.interest for i in instalments),
        instalments=[
            InstalmentOut(
                year=i.year,
                starts_on=i.starts_on,
                due_on=i.due_on,
                outstanding_before=i.outstanding_before,
                principal=i.principal,
                interest=i.interest,
            )
            for i in instalments
        ],
    )


def loan_view(loan: Loan, statement: LoanStatement | None, as_of: date) -> LoanOut:
    """The loan as of ``as_of``: its schedule with what was paid, and its overdue status."""
    terms = loan_terms(loan)
    schedule = schedule_view(terms, loan.disbursed_on) if loan.disbursed_on else None
    if schedule is not None and statement is not None:
        for out, state in zip(schedule.instalments, statement.instalments, strict=True):
            out.interest = state.interest
            out.principal_paid = state.principal_paid
            out.interest_paid = state.interest_paid
            out.overdue_interest = state.overdue_interest
            out.overdue_interest_paid = state.overdue_interest_paid
    return LoanOut(
        loan_id=loan.id,
        application_id=loan.application_id,
        household_id=loan.household_id,
        commune_code=loan.commune_code,
        programme_code=loan.programme_code,
        principal=loan.principal,
        approved_on=loan.approved_on,
        disbursed_on=loan.disbursed_on,
        # No statement: not disbursed (yet, on as_of), so the loan is only approved.
        status=str(statement.status) if statement else "approved",
        as_of=as_of,
        outstanding_principal=statement.outstanding_principal if statement else loan.principal,
        overdue_principal=statement.overdue_principal if statement else 0,
        overdue_interest_unpaid=statement.overdue_interest_unpaid if statement else 0,
        due_now=statement.due_now if statement else 0,
        payable_now=statement.payable_now if statement else 0,
        days_overdue=statement.days_overdue if statement else 0,
        schedule=schedule,
        repayments=[
            AllocationOut(
                paid_on=a.paid_on,
                amount=a.amount,
                overdue_interest=a.overdue_interest,
                interest=a.interest,
                principal=a.principal,
            )
            for a in (statement.allocations if statement else ())
        ],
    )


def construction_view(application_id: str, row: Construction | None) -> ConstructionOut:
    """Where the construction stands (every stage empty before it started)."""
    return ConstructionOut(
        application_id=application_id,
        started_on=row.started_on if row else None,
        completed_on=row.completed_on if row else None,
        accepted_on=row.accepted_on if row else None,
    )
