"""Response bodies made from this service's rows (what the API returns for each resource)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.employment.domain.targets import Measure
from services.employment.domain.training import graduate_outcome
from services.employment.domain.workers import PriorityFlags
from services.employment.models import Course, Enrolment, Placement, Target, Worker
from services.employment.schemas import (
    ClassChangeOut,
    CourseOut,
    EnrolmentOut,
    MeasureOut,
    PlacementOut,
    TargetOut,
    WorkerDetailOut,
    WorkerOut,
)


def worker_view(worker: Worker) -> WorkerOut:
    return WorkerOut(
        worker_id=worker.id,
        person_id=worker.person_id,
        household_id=worker.household_id,
        commune_code=worker.commune_code,
        registered_on=worker.registered_on,
        household_class=worker.household_class,
        poor_household=worker.poor_household,
        near_poor_household=worker.near_poor_household,
        ethnic_minority=worker.ethnic_minority,
        rural_worker=worker.rural_worker,
        priority=PriorityFlags(
            worker.poor_household,
            worker.near_poor_household,
            worker.ethnic_minority,
            worker.rural_worker,
        ).priority,
    )


def worker_detail(worker: Worker, history: Iterable[tuple[date, str]]) -> WorkerDetailOut:
    return WorkerDetailOut(
        **worker_view(worker).model_dump(),
        household_class_history=[
            ClassChangeOut(effective_date=effective, poverty_class=poverty_class)
            for effective, poverty_class in history
        ],
    )


def course_view(course: Course) -> CourseOut:
    return CourseOut(
        course_id=course.id,
        trade=course.trade,
        provider=course.provider,
        commune_code=course.commune_code,
        level=course.level,
        starts_on=course.starts_on,
        ends_on=course.ends_on,
        capacity=course.capacity,
        seats_taken=course.seats_taken,
        cost_per_trainee=course.cost_per_trainee,
    )


def placement_view(placement: Placement) -> PlacementOut:
    return PlacementOut(
        placement_id=placement.id,
        worker_id=placement.worker_id,
        commune_code=placement.commune_code,
        kind=placement.kind,
        placed_on=placement.placed_on,
        employer=placement.employer,
        destination_country=placement.destination_country,
        monthly_wage=placement.monthly_wage,
        period=placement.period,
        repeat_in_period=placement.first_placement_id is not None,
        first_placement_id=placement.first_placement_id,
        external_ref=placement.external_ref,
    )


def enrolment_view(
    enrolment: Enrolment, placed: Iterable[date], window_months: int, as_of: date
) -> EnrolmentOut:
    """The enrolment, with (for a graduate) whether a job followed within the window."""
    outcome = None
    if enrolment.status == "completed" and enrolment.completed_on is not None:
        outcome = graduate_outcome(enrolment.completed_on, placed, window_months, as_of)
    return EnrolmentOut(
        enrolment_id=enrolment.id,
        course_id=enrolment.course_id,
        worker_id=enrolment.worker_id,
        enrolled_on=enrolment.enrolled_on,
        status=enrolment.status,
        completed_on=enrolment.completed_on,
        certificate_number=enrolment.certificate_number,
        dropped_on=enrolment.dropped_on,
        drop_reason=enrolment.drop_reason,
        graduate_outcome=outcome,
    )


def target_view(target: Target) -> TargetOut:
    return TargetOut(
        target_id=target.id,
        year=target.year,
        unit_code=target.unit_code,
        unit_level=target.unit_level,
        placements=target.placements,
        trainees=target.trainees,
        rural_trainees=target.rural_trainees,
    )


def measure_out(measure: Measure) -> MeasureOut:
    return MeasureOut(
        target=measure.target,
        achieved=measure.achieved,
        percent_of_target=measure.percent_of_target,
        poor=measure.poor,
        near_poor=measure.near_poor,
        poor_and_near_poor_share_percent=measure.poor_and_near_poor_share_percent,
    )
