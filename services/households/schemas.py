"""Request and response bodies of the households API (validated at the edge)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from services.households.domain import InvalidCitizenId, validate_citizen_id
from shared.inputs import COMMUNE_CODE_PATTERN, Day, RequestBody, ResourceId

CommuneCode = Field(pattern=COMMUNE_CODE_PATTERN, description="5-digit commune code (GSO)")
ClassName = Literal["poor", "near_poor", "middle_income", "not_poor"]


class Body(RequestBody):
    """Base of this service's request bodies (shared edge rules)."""


class PersonIn(Body):
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["male", "female"]
    date_of_birth: Day
    ethnicity: str = Field(min_length=1, max_length=40, examples=["Kinh", "Khmer"])
    citizen_id: str | None = Field(
        None, description="12-digit citizen ID (CCCD); none for some children"
    )
    relation_to_head: str = Field(min_length=1, max_length=40, examples=["head", "spouse", "child"])

    @field_validator("date_of_birth")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("date of birth is in the future")
        return value

    @field_validator("citizen_id")
    @classmethod
    def _valid_citizen_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            validate_citizen_id(
                value, sex=info.data.get("sex"), date_of_birth=info.data.get("date_of_birth")
            )
        except InvalidCitizenId as exc:
            raise ValueError(str(exc)) from exc
        return value


class HouseholdIn(Body):
    commune_code: str = CommuneCode
    village: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=300)
    area: Literal["rural", "urban"]
    registered_on: Day
    independent_since_year: int | None = Field(None, ge=1900, le=2100)
    external_ref: str | None = Field(
        None, max_length=64, description="the locality's own household code"
    )
    members: list[PersonIn] = Field(min_length=1, max_length=40)

    @model_validator(mode="after")
    def _one_head(self) -> HouseholdIn:
        heads = sum(1 for m in self.members if m.relation_to_head == "head")
        if heads != 1:
            raise ValueError(
                f"a household has exactly one member with relation_to_head 'head' (got {heads})"
            )
        return self


class MemberOut(BaseModel):
    person_id: str
    sex: str
    date_of_birth: date
    ethnicity: str
    relation_to_head: str
    citizen_pseudonym: str | None


class HouseholdOut(BaseModel):
    household_id: str
    commune_code: str
    village: str
    area: str
    poverty_class: str
    class_standard_code: str | None
    class_since: date | None
    registered_on: date
    independent_since_year: int | None
    external_ref: str | None
    members: list[MemberOut]


class HouseholdPage(BaseModel):
    items: list[HouseholdOut]
    next_cursor: str | None


class PersonalDataOut(BaseModel):
    person_id: str
    household_id: str
    full_name: str
    sex: str
    date_of_birth: date
    ethnicity: str
    citizen_id: str | None
    address: str


class AssessmentIn(Body):
    assessed_on: Day
    income_per_person_month: int = Field(
        ge=0, le=1_000_000_000, description="VND per person per month"
    )
    deprived_indicators: list[str] = Field(default_factory=list, max_length=20)
    standard_code: str | None = Field(
        None, description="defaults to the standard in force on assessed_on"
    )
    review_id: ResourceId | None = None
    recorded_class: ClassName | None = Field(
        None,
        description="only to record a class different from the computed one; needs override_reason",
    )
    # validate_default: the check below runs when the reason is left out, so the error names it.
    override_reason: str | None = Field(None, max_length=1000, validate_default=True)

    @field_validator("override_reason")
    @classmethod
    def _override_needs_reason(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("recorded_class") is not None and not value:
            raise ValueError("override_reason is required when recorded_class is given")
        return value


class AssessmentOut(BaseModel):
    assessment_id: str
    household_id: str
    review_id: str | None
    assessed_on: date
    standard_code: str
    area: str
    income_per_person_month: int
    indicators_assessed: list[str]
    deprived_indicators: list[str]
    computed_class: str
    recorded_class: str
    override_reason: str | None
    reasons: list[str]


class ClassifyIn(Body):
    area: Literal["rural", "urban"]
    on: Day
    income_per_person_month: int = Field(ge=0, le=1_000_000_000)
    deprived_indicators: list[str] = Field(default_factory=list, max_length=20)
    standard_code: str | None = None


class ClassificationOut(BaseModel):
    standard_code: str
    poverty_class: str
    deprivation_count: int
    deprived_indicators: list[str]
    reasons: list[str]


class PovertyRatesOut(BaseModel):
    commune_code: str
    households: int
    poor: int
    near_poor: int
    poor_rate_percent: float
    near_poor_rate_percent: float
