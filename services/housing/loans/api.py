"""Loans and construction: disbursement, the exact schedule, repayments with overdue status
and overdue interest, and the house's construction from start to acceptance."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import (
    LoanRuleViolation,
    LoanStatement,
    LoanTerms,
    Payment,
    UnknownPolicy,
    loan_statement,
    policy_by_code,
    policy_for,
    repayment_schedule,
)
from services.housing.events import ConstructionCompleted, LoanDisbursed, LoanRepaid
from services.housing.models import Construction, Loan, Repayment, platform
from services.housing.operations import get_application, get_loan, loan_terms
from services.housing.schemas import (
    AllocationOut,
    ConstructionIn,
    ConstructionOut,
    DisbursementIn,
    InstalmentOut,
    LoanOut,
    RepaymentIn,
    ScheduleOut,
)
from shared.auth import CurrentPrincipal, authorize_read, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict, RuleViolation
from shared.service import SessionDep

SERVICE = "housing"
router = APIRouter(tags=["loans"])


def schedule_view(terms: LoanTerms, disbursed_on: date) -> ScheduleOut:
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


async def _payments(session: AsyncSession, loan_id: str) -> list[Payment]:
    rows = await session.execute(
        select(Repayment.paid_on, Repayment.amount)
        .where(Repayment.loan_id == loan_id)
        .order_by(Repayment.seq)
    )
    return [Payment(paid_on, amount) for paid_on, amount in rows.all()]


@router.get("/loans/{loan_id}", response_model=LoanOut)
async def read_loan(
    loan_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    as_of: Annotated[date | None, Query(description="statement date; today by default")] = None,
) -> LoanOut:
    """A loan with its schedule, what was paid on each instalment and its overdue status."""
    loan = await get_loan(session, loan_id)
    authorize_read(principal, SERVICE, loan.commune_code)
    day = as_of or date.today()
    if loan.disbursed_on is None or day < loan.disbursed_on:
        return loan_view(loan, None, day)
    payments = [p for p in await _payments(session, loan.id) if p.paid_on <= day]
    return loan_view(loan, loan_statement(loan_terms(loan), loan.disbursed_on, payments, day), day)


@router.post("/loans/{loan_id}/disbursement", response_model=LoanOut)
async def disburse_loan(
    loan_id: str, body: DisbursementIn, principal: CurrentPrincipal, session: SessionDep
) -> LoanOut:
    """Record that the bank paid out the loan; the repayment schedule starts from that day."""
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
            session,
            platform,
            LoanDisbursed(
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
                disbursed_on=body.disbursed_on,
                first_due_on=schedule[0].due_on,
                maturity_on=schedule[-1].due_on,
                total_scheduled_interest=sum(i.interest for i in schedule),
            ),
            loan.application_id,
        )
    statement = loan_statement(loan_terms(loan), body.disbursed_on, [], body.disbursed_on)
    return loan_view(loan, statement, body.disbursed_on)


@router.post("/loans/{loan_id}/repayments", response_model=LoanOut)
async def repay_loan(
    loan_id: str, body: RepaymentIn, principal: CurrentPrincipal, session: SessionDep
) -> LoanOut:
    """Record a repayment: overdue interest first, then interest and principal due, oldest
    first; the rest prepays principal. 422 when it exceeds what is owed."""
    async with session.begin():
        loan = await get_loan(session, loan_id, for_update=True)
        authorize_write(principal, SERVICE, loan.commune_code)
        if loan.disbursed_on is None:
            raise Conflict(f"loan {loan_id} has not been disbursed")
        payments = [*await _payments(session, loan.id), Payment(body.paid_on, body.amount)]
        try:
            statement = loan_statement(loan_terms(loan), loan.disbursed_on, payments, body.paid_on)
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
        await append_event(
            session,
            platform,
            LoanRepaid(
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
            ),
            loan.application_id,
        )
    return loan_view(loan, statement, body.paid_on)


@router.get("/loan-schedule", response_model=ScheduleOut)
async def preview_schedule(
    principal: CurrentPrincipal,
    amount: Annotated[int, Query(gt=0, description="đồng")],
    disbursed_on: date,
    programme_code: Annotated[str | None, Query(max_length=20)] = None,
) -> ScheduleOut:
    """The schedule a loan would have (nothing is recorded)."""
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


def construction_view(application_id: str, row: Construction | None) -> ConstructionOut:
    return ConstructionOut(
        application_id=application_id,
        started_on=row.started_on if row else None,
        completed_on=row.completed_on if row else None,
        accepted_on=row.accepted_on if row else None,
    )


@router.get("/applications/{application_id}/construction", response_model=ConstructionOut)
async def read_construction(
    application_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ConstructionOut:
    """Where the supported house's construction stands."""
    application = await get_application(session, application_id)
    authorize_read(principal, SERVICE, application.commune_code)
    return construction_view(application_id, await session.get(Construction, application_id))


@router.post("/applications/{application_id}/construction", response_model=ConstructionOut)
async def record_construction(
    application_id: str, body: ConstructionIn, principal: CurrentPrincipal, session: SessionDep
) -> ConstructionOut:
    """Record a construction stage: started, then completed, then accepted, in date order."""
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
