"""Request and response bodies of the insurance API (validated at the edge)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.inputs import RequestBody

OperatorGroup = Literal[
    "social_protection_allowance", "ethnic_minority_disadvantaged_area", "meritorious_service"
]


class Body(RequestBody):
    """Base of this service's request bodies (shared edge rules)."""


class EntitlementIn(Body):
    group: OperatorGroup
    starts_on: date
    ends_on: date | None = Field(None, description="first day not covered, if already known")
    reason: str = Field(
        min_length=3, max_length=500, description="the decision it rests on, e.g. its number"
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> EntitlementIn:
        if self.ends_on is not None and self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        return self


class EntitlementEndIn(Body):
    ends_on: date = Field(description="first day not covered")
    reason: str = Field(min_length=3, max_length=500)


class EntitlementOut(BaseModel):
    entitlement_id: str
    person_id: str
    household_id: str | None
    commune_code: str
    group: str
    source: str
    subsidy_percent: int
    policy_code: str
    starts_on: date
    ends_on: date | None
    reason: str
    caused_by_event_id: str | None
    recorded_by: str | None
    end_reason: str | None
    ended_by_event_id: str | None
    current: bool


class CardIn(Body):
    person_id: str = Field(min_length=1, max_length=36)
    social_insurance_number: str | None = Field(
        None,
        pattern=r"^\d{10}$",
        description="10-digit VSS number; may be left out once the person has one on record",
    )
    valid_from: date | None = Field(None, description="default: today")
    issued_on: date | None = Field(None, description="default: today")


class CardRenewalIn(Body):
    valid_from: date | None = Field(None, description="default: today")


class CardRevocationIn(Body):
    reason: str = Field(min_length=3, max_length=500)
    revoked_on: date | None = Field(None, description="default: today")


class CardOut(BaseModel):
    card_id: str
    person_id: str
    commune_code: str
    card_number: str | None = Field(
        description="15 characters; null for readers not allowed to see the SI number in it"
    )
    object_code: str
    benefit_level: int
    province_code: str
    valid_from: date
    valid_to: date
    issued_on: date
    status: str
    source: str
    entitlement_id: str | None
    entitled_since: date | None
    renewed_from_card_id: str | None
    duplicate_of_card_id: str | None
    partner_import_id: str | None
    ended_on: date | None
    end_reason: str | None


class PersonOut(BaseModel):
    person_id: str
    household_id: str
    commune_code: str
    citizen_pseudonym: str | None
    sex: str
    date_of_birth: date
    ethnic_minority: bool
    household_class: str | None
    entitlements: list[EntitlementOut]
    cards: list[CardOut]


class UncardedOut(BaseModel):
    """An entitled person without an active card: the next card to issue."""

    person_id: str
    household_id: str
    commune_code: str
    citizen_pseudonym: str | None
    group: str
    object_code: str
    benefit_level: int
    subsidy_percent: int
    policy_code: str
    entitlement_id: str
    waiting_since: date = Field(description="entitled since, or since the last card ended")
    due_on: date = Field(description="waiting_since + the service standard")
    overdue: bool
    proposed_valid_from: date
    proposed_valid_to: date


class UncardedPage(BaseModel):
    on: date
    service_standard_days: int
    total: int
    overdue: int
    items: list[UncardedOut]


class ToRevokeOut(BaseModel):
    """An active card whose holder has no current entitlement (none in excess)."""

    card: CardOut
    last_entitlement_id: str | None
    last_entitlement_ended_on: date | None
    last_entitlement_end_reason: str | None


class DuplicateOut(BaseModel):
    """A person holding more than one card reported active (none duplicated)."""

    person_id: str
    commune_code: str
    cards: list[CardOut]


class PolicyOut(BaseModel):
    code: str
    title: str
    valid_from: date
    valid_to: date | None
    groups: dict[str, dict[str, object]]
    near_poor_minimum_percent: int
    near_poor_in_poor_commune_percent: int
    notes: list[str]


class LocalRulesOut(BaseModel):
    poor_communes: list[str]
    near_poor_percent: int
    household_exit_grace_days: int
    card_validity_months: int
    service_standard_days: int
    province_code: str


class SweepOut(BaseModel):
    on: date
    entitlements_ended: int
    cards_expired: int
    cards_revoked: int
