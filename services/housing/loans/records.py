"""Loan rows shared by the loan commands and reads; each works inside the caller's session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.loans.domain import LoanTerms, Payment
from services.housing.models import Loan, Repayment
from shared.problems import NotFound


async def get_loan(session: AsyncSession, loan_id: str, *, for_update: bool = False) -> Loan:
    """The loan; ``for_update`` locks its row so concurrent repayments apply one at a time."""
    loan = await session.get(Loan, loan_id, with_for_update=for_update)
    if loan is None:
        raise NotFound(f"loan {loan_id} does not exist")
    return loan


def loan_terms(loan: Loan) -> LoanTerms:
    """The terms the loan was granted on (copied from the programme at approval)."""
    return LoanTerms(
        principal=loan.principal,
        annual_rate_bp=loan.annual_rate_bp,
        overdue_rate_percent=loan.overdue_rate_percent,
        term_years=loan.term_years,
        grace_years=loan.grace_years,
        min_principal_percent_per_year=loan.min_principal_percent_per_year,
    )


async def payments(session: AsyncSession, loan_id: str) -> list[Payment]:
    """The loan's recorded repayments in the order they were recorded."""
    rows = await session.execute(
        select(Repayment.paid_on, Repayment.amount)
        .where(Repayment.loan_id == loan_id)
        .order_by(Repayment.seq)
    )
    return [Payment(paid_on, amount) for paid_on, amount in rows.all()]
