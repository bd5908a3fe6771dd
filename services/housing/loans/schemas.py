"""Request and response bodies of the loan and construction routes (validated at the edge)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from services.housing.schemas import Body, PastDate


class DisbursementIn(Body):
    disbursed_on: PastDate


class RepaymentIn(Body):
    paid_on: PastDate
    amount: int = Field(gt=0, le=10_000_000_000, description="đồng")


class ConstructionIn(Body):
    stage: Literal["started", "completed", "accepted"]
    on: PastDate


class ConstructionOut(BaseModel):
    application_id: str
    started_on: date | None
    completed_on: date | None
    accepted_on: date | None


class InstalmentOut(BaseModel):
    year: int
    starts_on: date
    due_on: date
    outstanding_before: int
    principal: int
    interest: int
    principal_paid: int | None = None
    interest_paid: int | None = None
    overdue_interest: int | None = None
    overdue_interest_paid: int | None = None


class AllocationOut(BaseModel):
    paid_on: date
    amount: int
    overdue_interest: int
    interest: int
    principal: int


class ScheduleOut(BaseModel):
    principal: int
    annual_rate_bp: int
    overdue_rate_bp: int
    term_years: int
    grace_years: int
    disbursed_on: date
    total_interest: int
    instalments: list[InstalmentOut]


class LoanOut(BaseModel):
    loan_id: str
    application_id: str
    household_id: str
    commune_code: str
    programme_code: str
    principal: int
    approved_on: date
    disbursed_on: date | None
    status: str
    as_of: date
    outstanding_principal: int
    overdue_principal: int
    overdue_interest_unpaid: int
    due_now: int
    payable_now: int
    days_overdue: int
    schedule: ScheduleOut | None
    repayments: list[AllocationOut]
