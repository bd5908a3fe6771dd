"""Events the employment service publishes on ``ansinh.employment.v1``.

No personal data: workers appear by opaque ids (worker, person, household), with the
priority flags that decide who comes first and the class that makes a placement count in
the poor and near-poor share. Names, citizen IDs, wages and employers stay in the service.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.events import EventPayload, domain_event

SERVICE = "employment"

HouseholdClassName = Literal["poor", "near_poor", "middle_income", "not_poor", "unclassified"]
PlacementKindName = Literal["domestic_employer", "labour_export", "self_employment", "public_works"]
DropReason = Literal["found_job", "health", "family", "moved_away", "other"]


@domain_event(SERVICE, "worker_registered")
class WorkerRegistered(EventPayload):
    """A household member was registered as a worker, with the priority flags of the day."""

    worker_id: str
    person_id: str
    household_id: str
    commune_code: str
    registered_on: date
    household_class: HouseholdClassName
    poor_household: bool
    near_poor_household: bool
    ethnic_minority: bool
    rural_worker: bool


@domain_event(SERVICE, "training_enrolled")
class TrainingEnrolled(EventPayload):
    """A worker took a seat in a vocational training course."""

    enrolment_id: str
    course_id: str
    worker_id: str
    person_id: str
    commune_code: str = Field(description="the course's commune")
    worker_commune_code: str
    trade: str
    course_level: Literal["elementary", "other"]
    course_starts_on: date
    course_ends_on: date
    cost_per_trainee: int = Field(ge=0, description="VND")
    enrolled_on: date
    household_class: HouseholdClassName
    rural_worker: bool


@domain_event(SERVICE, "training_completed")
class TrainingCompleted(EventPayload):
    """A trainee completed a course (with or without a certificate)."""

    enrolment_id: str
    course_id: str
    worker_id: str
    commune_code: str
    completed_on: date
    certificate_issued: bool


@domain_event(SERVICE, "training_dropped")
class TrainingDropped(EventPayload):
    """A trainee left a course before completing it; the seat is free again."""

    enrolment_id: str
    course_id: str
    worker_id: str
    commune_code: str
    dropped_on: date
    reason: DropReason


@domain_event(SERVICE, "worker_placed")
class WorkerPlaced(EventPayload):
    """A worker got a job; a repeat in the same period is flagged and not counted again."""

    placement_id: str
    worker_id: str
    person_id: str
    household_id: str
    commune_code: str
    kind: PlacementKindName
    placed_on: date
    destination_country: str | None = Field(
        None, description="ISO 3166-1 alpha-2, labour export only"
    )
    household_class: HouseholdClassName = Field(description="the household's class on placed_on")
    period: str = Field(description="the counting period, e.g. 2019 or 2019-03")
    repeat_in_period: bool
    first_placement_id: str | None = Field(
        None, description="the placement already recorded for this worker in the period"
    )


@domain_event(SERVICE, "target_set")
class TargetSet(EventPayload):
    """A yearly plan for a district or commune was set or changed."""

    target_id: str
    year: int
    unit_code: str
    unit_level: Literal["province", "district", "commune"]
    placements: int | None = Field(None, ge=0)
    trainees: int | None = Field(None, ge=0)
    rural_trainees: int | None = Field(None, ge=0)
