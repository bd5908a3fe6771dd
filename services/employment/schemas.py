"""Request and response bodies of the employment API (validated at the edge)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from services.employment.domain.placements import PlacementKind
from services.employment.domain.training import CourseLevel
from services.employment.events import DropReason
from shared.inputs import RequestBody

CommuneCode = Field(pattern=r"^[0-9]{5}$", description="5-digit commune code (GSO)")
Money = Field(ge=0, le=10_000_000_000, description="integer VND")


class Body(RequestBody):
    """Base of this service's request bodies (shared edge rules)."""


class WorkerIn(Body):
    person_id: str = Field(
        min_length=1, max_length=36, description="a person in the households registry"
    )
    registered_on: date


class WorkerOut(BaseModel):
    worker_id: str
    person_id: str
    household_id: str
    commune_code: str
    registered_on: date
    household_class: str
    poor_household: bool
    near_poor_household: bool
    ethnic_minority: bool
    rural_worker: bool
    priority: bool


class ClassChangeOut(BaseModel):
    effective_date: date
    poverty_class: str


class WorkerDetailOut(WorkerOut):
    household_class_history: list[ClassChangeOut]


class WorkerPage(BaseModel):
    items: list[WorkerOut]
    next_cursor: str | None


class WorkerPersonalDataOut(BaseModel):
    """Read from the households API (which records the read); never stored here."""

    worker_id: str
    person_id: str
    full_name: str
    sex: str
    date_of_birth: date
    ethnicity: str
    citizen_id: str | None
    address: str


class CourseIn(Body):
    trade: str = Field(min_length=1, max_length=120, examples=["sewing", "motorbike repair"])
    provider: str = Field(min_length=1, max_length=200)
    commune_code: str = CommuneCode
    level: CourseLevel = CourseLevel.ELEMENTARY
    starts_on: date
    ends_on: date
    capacity: int = Field(ge=1, le=10_000)
    cost_per_trainee: int = Money


class CourseOut(BaseModel):
    course_id: str
    trade: str
    provider: str
    commune_code: str
    level: str
    starts_on: date
    ends_on: date
    capacity: int
    seats_taken: int
    cost_per_trainee: int


class EnrolmentIn(Body):
    worker_id: str = Field(min_length=1, max_length=36)
    enrolled_on: date


class EnrolmentRow(EnrolmentIn):
    """A row of an enrolments file (``POST /imports/enrolments``)."""

    course_id: str = Field(min_length=1, max_length=36)


class CompletionIn(Body):
    completed_on: date
    certificate_number: str | None = Field(None, min_length=1, max_length=60)


class DropOutIn(Body):
    dropped_on: date
    reason: DropReason


class EnrolmentOut(BaseModel):
    enrolment_id: str
    course_id: str
    worker_id: str
    enrolled_on: date
    status: Literal["enrolled", "completed", "dropped"]
    completed_on: date | None
    certificate_number: str | None
    dropped_on: date | None
    drop_reason: str | None
    graduate_outcome: Literal["placed", "not_placed", "pending"] | None = Field(
        None, description="for graduates: whether they were placed within the window"
    )


class PlacementIn(Body):
    worker_id: str = Field(min_length=1, max_length=36)
    kind: PlacementKind
    placed_on: date
    employer: str | None = Field(None, min_length=1, max_length=200)
    destination_country: str | None = Field(
        None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 (labour export)"
    )
    monthly_wage: int = Money
    external_ref: str | None = Field(None, min_length=1, max_length=64)


class PlacementRow(PlacementIn):
    """A row of a placements file (``POST /imports/placements``)."""

    external_ref: str = Field(min_length=1, max_length=64, description="makes re-runs safe")


class PlacementOut(BaseModel):
    placement_id: str
    worker_id: str
    commune_code: str
    kind: str
    placed_on: date
    employer: str | None
    destination_country: str | None
    monthly_wage: int
    period: str
    repeat_in_period: bool
    first_placement_id: str | None
    external_ref: str | None


class TargetIn(Body):
    placements: int | None = Field(None, ge=0, le=10_000_000)
    trainees: int | None = Field(None, ge=0, le=10_000_000)
    rural_trainees: int | None = Field(None, ge=0, le=10_000_000)


class TargetOut(BaseModel):
    target_id: str
    year: int
    unit_code: str
    unit_level: str
    placements: int | None
    trainees: int | None
    rural_trainees: int | None


class MeasureOut(BaseModel):
    target: int | None
    achieved: int
    percent_of_target: float | None
    poor: int
    near_poor: int
    poor_and_near_poor_share_percent: float | None


class ProgressOut(BaseModel):
    year: int
    unit_code: str
    unit_level: str
    as_of: date
    communes: list[str]
    placement_period: str
    placements: MeasureOut
    trainees: MeasureOut
    rural_trainees: MeasureOut


class AdminUnitOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    valid_from: date | None
    valid_to: date | None
