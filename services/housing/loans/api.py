"""Routes of loans and construction: disbursement, the exact schedule, repayments with overdue
status and overdue interest, and the house's construction from start to acceptance."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.housing.loans import commands, queries
from services.housing.loans.schemas import (
    ConstructionIn,
    ConstructionOut,
    DisbursementIn,
    LoanOut,
    RepaymentIn,
    ScheduleOut,
)
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["loans"])


@router.get("/loans/{loan_id}", response_model=LoanOut)
async def read_loan(
    loan_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    as_of: Annotated[date | None, Query(description="statement date; today by default")] = None,
) -> LoanOut:
    """A loan with its schedule, what was paid on each instalment and its overdue status."""
    return await queries.read_loan(session, principal, loan_id, as_of)


@router.post("/loans/{loan_id}/disbursement", response_model=LoanOut)
async def disburse_loan(
    loan_id: str, body: DisbursementIn, principal: CurrentPrincipal, session: SessionDep
) -> LoanOut:
    """Record that the bank paid out the loan; the repayment schedule starts from that day."""
    return await commands.disburse_loan(session, principal, loan_id, body)


@router.post("/loans/{loan_id}/repayments", response_model=LoanOut)
async def repay_loan(
    loan_id: str, body: RepaymentIn, principal: CurrentPrincipal, session: SessionDep
) -> LoanOut:
    """Record a repayment: overdue interest first, then interest and principal due, oldest
    first; the rest prepays principal. 422 when it exceeds what is owed."""
    return await commands.repay_loan(session, principal, loan_id, body)


@router.get("/loan-schedule", response_model=ScheduleOut)
async def preview_schedule(
    principal: CurrentPrincipal,
    amount: Annotated[int, Query(gt=0, description="đồng")],
    disbursed_on: date,
    programme_code: Annotated[str | None, Query(max_length=20)] = None,
) -> ScheduleOut:
    """The schedule a loan would have (nothing is recorded)."""
    return queries.preview_schedule(amount, disbursed_on, programme_code)


@router.get("/applications/{application_id}/construction", response_model=ConstructionOut)
async def read_construction(
    application_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ConstructionOut:
    """Where the supported house's construction stands."""
    return await queries.read_construction(session, principal, application_id)


@router.post("/applications/{application_id}/construction", response_model=ConstructionOut)
async def record_construction(
    application_id: str, body: ConstructionIn, principal: CurrentPrincipal, session: SessionDep
) -> ConstructionOut:
    """Record a construction stage: started, then completed, then accepted, in date order."""
    return await commands.record_construction(session, principal, application_id, body)
