"""Request and response bodies of the housing API (validated at the edge)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from shared.inputs import RequestBody

UUID_PATTERN = r"^[0-9a-fA-F-]{36}$"
HouseConditionName = Literal["none", "makeshift", "dilapidated", "adequate"]


def _not_in_future(value: date) -> date:
    if value > date.today():
        raise ValueError("date is in the future")
    return value


#: A date of something that already happened (applications, payments, site visits).
PastDate = Annotated[date, AfterValidator(_not_in_future)]


class Body(RequestBody):
    """Base of this service's request bodies (shared edge rules)."""


class PriorityIn(Body):
    """The priority criteria the commune verified (Decision 33/2015, groups 1–6)."""

    elderly_lone_or_disabled: bool = False
    ethnic_minority: bool = False
    disaster_prone_area: bool = False
    extremely_difficult_village: bool = False
    difficult_commune: bool = False
    poor_district_30a: bool = False


class ApplicationIn(Body):
    household_id: str = Field(pattern=UUID_PATTERN)
    applied_on: PastDate
    house_condition: HouseConditionName
    floor_area_m2: float | None = Field(None, ge=0, le=10_000)
    residents: int | None = Field(None, ge=1, le=100)
    prior_support_year: int | None = Field(
        None, ge=1990, le=2100, description="year of earlier housing support from any programme"
    )
    prior_support_programme: str | None = Field(None, max_length=200)
    house_destroyed_by_disaster: bool = False
    priority: PriorityIn = Field(default_factory=PriorityIn)
    amount_requested: int = Field(gt=0, description="đồng; at most the programme's cap")

    @model_validator(mode="after")
    def _area_with_residents(self) -> ApplicationIn:
        if (self.floor_area_m2 is None) != (self.residents is None):
            raise ValueError("floor_area_m2 and residents are given together")
        return self


class ApplicationOut(BaseModel):
    application_id: str
    household_id: str
    commune_code: str
    applied_on: date
    programme_code: str
    status: str
    listed_class: str | None
    priority_group: int
    amount_requested: int
    failed_rules: list[str]
    reasons: list[str]
    list_id: str | None
    approved_on: date | None
    loan_id: str | None


class HouseholdFactsOut(BaseModel):
    household_id: str
    commune_code: str
    independent_since_year: int | None
    current_class: str
    listed_class_on: date
    listed_class: str | None


class ListIn(Body):
    posted_on: PastDate
    year: int | None = Field(None, ge=2000, le=2100, description="defaults to posted_on's year")


class ApprovalIn(Body):
    approved_on: PastDate


class ListEntryOut(BaseModel):
    application_id: str
    household_id: str
    rank: int
    priority_group: int
    outcome: str | None


class ApprovalListOut(BaseModel):
    list_id: str
    commune_code: str
    year: int
    programme_code: str
    posted_on: date
    posting_ends_on: date
    required_working_days: int
    quota: int
    status: str
    approved_on: date | None
    entries: list[ListEntryOut]
