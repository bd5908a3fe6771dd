"""The write path of loans and construction: each command opens the transaction, authorises,
applies the loan rules, changes rows and appends its event to the outbox."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.events import ConstructionCompleted, LoanDisbursed, LoanRepaid
from services.housing.loans.domain import (
    Instalment,
    LoanRuleViolation,
    LoanStatement,
    Payment,
    loan_statement,
    repayment_schedule,
)
from services.housing.loans.records import get_loan, loan_terms, payments
from services.housing.loans.schemas import (
    ConstructionIn,
    ConstructionOut,
    DisbursementIn,
    LoanOut,
    RepaymentIn,
)
from services.housing.loans.views import construction_view, loan_view
from services.housing.models import Construction, Loan, Repayment, platform
from services.housing.records import get_application
from services.housing.settings import SERVICE
from shared.auth import Principal, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict, RuleViolation


async def disburse_loan(
    session: AsyncSession, principal: Principal, loan_id: str, body: DisbursementIn
) -> LoanOut:
    """Record that the bank paid out the loan; 409 when it already was, 422 before approval."""
    async with session.begin():
        loan = await get_loan(session, loan_id, for_update=True)
        authorize_write(principal, SERVICE, loan.commune_code)
        if loan.disbursed_on is not None:
            raise Conflict(f"loan {loan_id} was disbursed on {loan.disbursed_on.isoformat()}")
        if body.disbursed_on < loan.approved_on:
            raise RuleViolation(
                f"the loan was approved on {loan.approved_on.isoformat()}: "
                "it cannot be disbursed before",
                field="body.disbursed_on",
            )
        loan.disbursed_on, loan.status = body.disbursed_on, "disbursed"
        schedule = repayment_schedule(loan_terms(loan), body.disbursed_on)
        await append_event(
            session, platform, _disbursed(loan, body.disbursed_on, schedule), loan.application_id
        )
    statement = loan_statement(loan_terms(loan), body.disbursed_on, [], body.disbursed_on)
    return loan_view(loan, statement, body.disbursed_on)


def _disbursed(loan: Loan, disbursed_on: date, schedule: tuple[Instalment, ...]) -> LoanDisbursed:
    return LoanDisbursed(
        loan_id=loan.id,
        application_id=loan.application_id,
        household_id=loan.household_id,
        commune_code=loan.commune_code,
        programme_code=loan.programme_code,
        principal=loan.principal,
        annual_rate_bp=loan.annual_rate_bp,
        overdue_rate_bp=loan_terms(loan).overdue_rate_bp,
        term_years=loan.term_years,
        grace_years=loan.grace_years,
        approved_on=loan.approved_on,
        disbursed_on=disbursed_on,
        first_due_on=schedule[0].due_on,
        maturity_on=schedule[-1].due_on,
        total_scheduled_interest=sum(i.interest for i in schedule),
    )


async def repay_loan(
    session: AsyncSession, principal: Principal, loan_id: str, body: RepaymentIn
) -> LoanOut:
    """Record a repayment: overdue interest first, then interest and principal due, oldest
    first; the rest prepays principal. 409 before disbursement, 422 when it exceeds what is
    owed or is out of date order."""
    async with session.begin():
        loan = await get_loan(session, loan_id, for_update=True)
        authorize_write(principal, SERVICE, loan.commune_code)
        if loan.disbursed_on is None:
            raise Conflict(f"loan {loan_id} has not been disbursed")
        paid = [*await payments(session, loan.id), Payment(body.paid_on, body.amount)]
        try:
            statement = loan_statement(loan_terms(loan), loan.disbursed_on, paid, body.paid_on)
        except LoanRuleViolation as exc:
            raise RuleViolation(str(exc), field=f"body.{exc.field}") from exc
        allocation = statement.allocations[-1]
        session.add(
            Repayment(
                loan_id=loan.id,
                paid_on=body.paid_on,
                amount=body.amount,
                overdue_interest_paid=allocation.overdue_interest,
                interest_paid=allocation.interest,
                principal_paid=allocation.principal,
            )
        )
        loan.status = "repaid" if statement.status == "repaid" else "disbursed"
        await append_event(session, platform, _repaid(loan, body, statement), loan.application_id)
    return loan_view(loan, statement, body.paid_on)


def _repaid(loan: Loan, body: RepaymentIn, statement: LoanStatement) -> LoanRepaid:
    allocation = statement.allocations[-1]
    return LoanRepaid(
        loan_id=loan.id,
        application_id=loan.application_id,
        household_id=loan.household_id,
        commune_code=loan.commune_code,
        paid_on=body.paid_on,
        amount=body.amount,
        overdue_interest_paid=allocation.overdue_interest,
        interest_paid=allocation.interest,
        principal_paid=allocation.principal,
        outstanding_principal=statement.outstanding_principal,
        status=statement.status.value,
    )


async def record_construction(
    session: AsyncSession, principal: Principal, application_id: str, body: ConstructionIn
) -> ConstructionOut:
    """Record a construction stage: started, then completed, then accepted, in date order;
    completion is published as construction_completed."""
    async with session.begin():
        application = await get_application(session, application_id)
        authorize_write(principal, SERVICE, application.commune_code)
        if application.status != "approved" or application.approved_on is None:
            raise Conflict(f"application {application_id} is {application.status}, not approved")
        row = await session.get(Construction, application_id)
        if row is None:
            row = Construction(application_id=application_id)
            session.add(row)
        previous = _check_stage(row, body, application.approved_on)
        setattr(row, f"{body.stage}_on", body.on)
        if body.stage == "completed":
            loan_id = (
                await session.execute(select(Loan.id).where(Loan.application_id == application_id))
            ).scalar_one()
            await append_event(
                session,
                platform,
                ConstructionCompleted(
                    application_id=application_id,
                    loan_id=loan_id,
                    household_id=application.household_id,
                    commune_code=application.commune_code,
                    started_on=previous,
                    completed_on=body.on,
                ),
                application_id,
            )
    return construction_view(application_id, row)


def _check_stage(row: Construction, body: ConstructionIn, approved_on: date) -> date:
    """The previous stage's date; 409 for a stage out of order, 422 for a date before it."""
    stages: dict[str, tuple[str | None, date | None]] = {
        "started": (None, approved_on),
        "completed": ("started", None),
        "accepted": ("completed", None),
    }
    needs, floor = stages[body.stage]
    if getattr(row, f"{body.stage}_on") is not None:
        raise Conflict(f"construction was already {body.stage}")
    previous = floor if needs is None else getattr(row, f"{needs}_on")
    if previous is None:
        raise Conflict(f"construction must be {needs} before it is {body.stage}")
    if body.on < previous:
        raise RuleViolation(
            f"{body.stage} on {body.on.isoformat()} is before {previous.isoformat()}",
            field="body.on",
        )
    return previous
