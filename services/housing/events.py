"""Events the housing service publishes on ``ansinh.housing.v1``.

No personal data: households and applications appear as opaque UUIDs. Money is integer
đồng; rates are basis points. The subject (record key) of every event about one
application, its loan and its construction is the application id, so they stay in order.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import EventPayload, domain_event

SERVICE = "housing"

HouseConditionName = Literal["none", "makeshift", "dilapidated", "adequate"]
RuleCode = Literal[
    "on_poor_list", "independent_household_years", "house_condition", "no_recent_support"
]


@domain_event(SERVICE, "housing_applied")
class HousingApplied(EventPayload):
    """A household applied for housing support."""

    application_id: str
    household_id: str
    commune_code: str
    applied_on: date
    programme_code: str
    house_condition: HouseConditionName
    priority_group: int = Field(ge=1, le=7)
    amount_requested: int = Field(gt=0, description="đồng")
    eligible: bool


@domain_event(SERVICE, "housing_refused")
class HousingRefused(EventPayload):
    """An application failed eligibility rules; each failed rule is named."""

    application_id: str
    household_id: str
    commune_code: str
    applied_on: date
    refused_on: date
    programme_code: str
    failed_rules: list[RuleCode]
    reasons: list[str]


class ListEntry(BaseModel):
    """One application on a posted commune list."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    application_id: str
    household_id: str
    rank: int = Field(ge=1)
    priority_group: int = Field(ge=1, le=7)


@domain_event(SERVICE, "housing_list_posted")
class HousingListPosted(EventPayload):
    """A commune's ranked approval list was posted publicly (democracy evidence)."""

    list_id: str
    commune_code: str
    year: int
    programme_code: str
    posted_on: date
    posting_ends_on: date
    required_working_days: int
    quota: int = Field(ge=0, description="approvals still allowed in the commune's yearly quota")
    entries: list[ListEntry]


@domain_event(SERVICE, "housing_approved")
class HousingApproved(EventPayload):
    """An application on a posted list was approved within the commune's yearly quota."""

    application_id: str
    household_id: str
    commune_code: str
    list_id: str
    loan_id: str
    year: int
    rank: int = Field(ge=1)
    priority_group: int = Field(ge=1, le=7)
    programme_code: str
    applied_on: date
    posted_on: date
    posting_ends_on: date
    approved_on: date
    principal: int = Field(gt=0, description="đồng")


@domain_event(SERVICE, "loan_disbursed")
class LoanDisbursed(EventPayload):
    """The social-policy bank paid out a housing loan."""

    loan_id: str
    application_id: str
    household_id: str
    commune_code: str
    programme_code: str
    principal: int = Field(gt=0, description="đồng")
    annual_rate_bp: int = Field(ge=0, description="basis points a year (300 = 3%)")
    overdue_rate_bp: int = Field(ge=0)
    term_years: int
    grace_years: int
    approved_on: date
    disbursed_on: date
    first_due_on: date
    maturity_on: date
    total_scheduled_interest: int = Field(ge=0, description="đồng")


@domain_event(SERVICE, "loan_repaid")
class LoanRepaid(EventPayload):
    """A repayment was received and allocated (overdue interest, interest, principal)."""

    loan_id: str
    application_id: str
    household_id: str
    commune_code: str
    paid_on: date
    amount: int = Field(gt=0, description="đồng")
    overdue_interest_paid: int = Field(ge=0)
    interest_paid: int = Field(ge=0)
    principal_paid: int = Field(ge=0)
    outstanding_principal: int = Field(ge=0)
    status: Literal["current", "overdue", "repaid"]


@domain_event(SERVICE, "construction_completed")
class ConstructionCompleted(EventPayload):
    """The supported house was built or repaired."""

    application_id: str
    loan_id: str
    household_id: str
    commune_code: str
    started_on: date
    completed_on: date
