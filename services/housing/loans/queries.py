"""Reads of loans, schedules and construction (no writes, no events)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import UnknownPolicy, policy_by_code, policy_for
from services.housing.loans.domain import loan_statement
from services.housing.loans.records import get_loan, loan_terms, payments
from services.housing.loans.schemas import ConstructionOut, LoanOut, ScheduleOut
from services.housing.loans.views import construction_view, loan_view, schedule_view
from services.housing.models import Construction
from services.housing.records import get_application
from services.housing.settings import SERVICE
from shared.auth import Principal, authorize_read
from shared.problems import RuleViolation


async def read_loan(
    session: AsyncSession, principal: Principal, loan_id: str, as_of: date | None
) -> LoanOut:
    """The loan's statement on ``as_of`` (today by default), from the payments made by then."""
    loan = await get_loan(session, loan_id)
    authorize_read(principal, SERVICE, loan.commune_code)
    day = as_of or date.today()
    if loan.disbursed_on is None or day < loan.disbursed_on:
        return loan_view(loan, None, day)
    paid = [p for p in await payments(session, loan.id) if p.paid_on <= day]
    return loan_view(loan, loan_statement(loan_terms(loan), loan.disbursed_on, paid, day), day)


def preview_schedule(amount: int, disbursed_on: date, programme_code: str | None) -> ScheduleOut:
    """The schedule a loan of ``amount`` would have under the programme (named, or in force
    on ``disbursed_on``); 422 naming the query field for an unknown programme or a loan
    above its cap."""
    try:
        policy = policy_by_code(programme_code) if programme_code else policy_for(disbursed_on)
    except UnknownPolicy as exc:
        field = "query.programme_code" if programme_code else "query.disbursed_on"
        raise RuleViolation(str(exc), field=field) from exc
    if amount > policy.max_loan:
        raise RuleViolation(
            f"{policy.code} lends at most {policy.max_loan} đồng", field="query.amount"
        )
    return schedule_view(policy.terms(amount), disbursed_on)


async def read_construction(
    session: AsyncSession, principal: Principal, application_id: str
) -> ConstructionOut:
    """Where the supported house's construction stands."""
    application = await get_application(session, application_id)
    authorize_read(principal, SERVICE, application.commune_code)
    return construction_view(application_id, await session.get(Construction, application_id))
