"""Vocational training: opening courses, enrolment within capacity, completion, drop-out."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.commands.checks import authorize_writer, rule_violations, worker_for_body
from services.employment.domain.training import (
    CourseLevel,
    check_completion,
    check_course,
    check_drop_out,
    check_enrolment_date,
)
from services.employment.events import (
    DropReason,
    TrainingCompleted,
    TrainingDropped,
    TrainingEnrolled,
)
from services.employment.models import Course, Enrolment, Worker, platform
from services.employment.records import get_course, get_enrolment, household_class_on
from services.employment.schemas import CompletionIn, CourseIn, DropOutIn, EnrolmentIn
from services.employment.settings import SERVICE, EmploymentSettings
from shared.auth import Principal, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict


async def open_course(
    session: AsyncSession, principal: Principal, body: CourseIn, policy: EmploymentSettings
) -> Course:
    """A new vocational training course, its dates checked against its level."""
    authorize_write(principal, SERVICE, body.commune_code)
    with rule_violations():
        check_course(
            body.level,
            body.starts_on,
            body.ends_on,
            elementary_max_months=policy.elementary_course_max_months,
        )
    course = Course(
        id=str(uuid.uuid4()),
        seats_taken=0,
        **body.model_dump(exclude={"level"}),
        level=body.level.value,
    )
    async with session.begin():
        session.add(course)
    # A course is a plan, not a delivery: nothing is published until somebody enrols.
    return course


async def enrol(
    session: AsyncSession, principal: Principal, course_id: str, body: EnrolmentIn
) -> Enrolment:
    """Enrol a registered worker in its own transaction; 409 when the course is full."""
    try:
        async with session.begin():
            return await enrol_worker(session, principal, course_id, body)
    except IntegrityError as exc:  # the same worker, enrolled concurrently
        raise Conflict("body.worker_id: the worker is already enrolled in this course") from exc


async def enrol_worker(
    session: AsyncSession, principal: Principal, course_id: str, body: EnrolmentIn
) -> Enrolment:
    """A seat for a registered worker; 409 when the course is full or the worker is in it.

    Works inside the caller's transaction (``enrol``'s, or the import's savepoint per row).
    """
    authorize_writer(principal)
    course = await get_course(session, course_id)
    authorize_write(principal, SERVICE, course.commune_code)
    worker = await worker_for_body(session, body.worker_id)
    with rule_violations():
        check_enrolment_date(body.enrolled_on, course.ends_on)
    already = (
        await session.execute(
            select(Enrolment.id).where(
                Enrolment.course_id == course.id, Enrolment.worker_id == worker.id
            )
        )
    ).scalar_one_or_none()
    if already is not None:
        raise Conflict(f"body.worker_id: the worker is already enrolled ({already})")
    await _take_seat(session, course)
    enrolment = Enrolment(
        id=str(uuid.uuid4()),
        course_id=course.id,
        worker_id=worker.id,
        worker_commune_code=worker.commune_code,
        enrolled_on=body.enrolled_on,
        status="enrolled",
    )
    session.add(enrolment)
    household_class = await household_class_on(session, worker.household_id, body.enrolled_on)
    await append_event(
        session,
        platform,
        _enrolled_event(enrolment, course, worker, household_class),
        enrolment.id,
    )
    return enrolment


async def _take_seat(session: AsyncSession, course: Course) -> None:
    """Count one more seat taken, or 409 when the course is full."""
    # One conditional UPDATE: the database row lock makes concurrent enrolments queue on it,
    # and the loser of the last seat finds the count already at capacity.
    taken = await session.execute(  # a CursorResult: it has the rowcount
        update(Course)
        .where(Course.id == course.id, Course.seats_taken < Course.capacity)
        .values(seats_taken=Course.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    if not cast("CursorResult[Any]", taken).rowcount:
        raise Conflict(f"course {course.id} is full ({course.capacity} seats)")
    await session.refresh(course)


def _enrolled_event(
    enrolment: Enrolment, course: Course, worker: Worker, household_class: str
) -> TrainingEnrolled:
    return TrainingEnrolled(
        enrolment_id=enrolment.id,
        course_id=course.id,
        worker_id=worker.id,
        person_id=worker.person_id,
        commune_code=course.commune_code,
        worker_commune_code=worker.commune_code,
        trade=course.trade,
        course_level=CourseLevel(course.level).value,
        course_starts_on=course.starts_on,
        course_ends_on=course.ends_on,
        cost_per_trainee=course.cost_per_trainee,
        enrolled_on=enrolment.enrolled_on,
        household_class=household_class,
        rural_worker=worker.rural_worker,
    )


async def _open_enrolment(
    session: AsyncSession, principal: Principal, enrolment_id: str
) -> tuple[Enrolment, Course]:
    authorize_writer(principal)
    enrolment, course = await get_enrolment(session, enrolment_id)
    authorize_write(principal, SERVICE, course.commune_code)
    if enrolment.status != "enrolled":
        raise Conflict(f"enrolment {enrolment_id} is already {enrolment.status}")
    return enrolment, course


async def complete_training(
    session: AsyncSession, principal: Principal, enrolment_id: str, body: CompletionIn
) -> Enrolment:
    """Record that the trainee completed the course (with the certificate number, if any)."""
    async with session.begin():
        return await _complete(session, principal, enrolment_id, body)


async def _complete(
    session: AsyncSession, principal: Principal, enrolment_id: str, body: CompletionIn
) -> Enrolment:
    enrolment, course = await _open_enrolment(session, principal, enrolment_id)
    with rule_violations():
        check_completion(body.completed_on, enrolment.enrolled_on, course.starts_on)
    enrolment.status = "completed"
    enrolment.completed_on = body.completed_on
    enrolment.certificate_number = body.certificate_number
    await append_event(
        session,
        platform,
        TrainingCompleted(
            enrolment_id=enrolment.id,
            course_id=course.id,
            worker_id=enrolment.worker_id,
            commune_code=course.commune_code,
            completed_on=body.completed_on,
            certificate_issued=body.certificate_number is not None,
        ),
        enrolment.id,
    )
    return enrolment


async def drop_out(
    session: AsyncSession, principal: Principal, enrolment_id: str, body: DropOutIn
) -> Enrolment:
    """End an enrolment early; its seat goes back to the course."""
    async with session.begin():
        return await _drop(session, principal, enrolment_id, body)


async def _drop(
    session: AsyncSession, principal: Principal, enrolment_id: str, body: DropOutIn
) -> Enrolment:
    enrolment, course = await _open_enrolment(session, principal, enrolment_id)
    with rule_violations():
        check_drop_out(body.dropped_on, enrolment.enrolled_on)
    enrolment.status = "dropped"
    enrolment.dropped_on = body.dropped_on
    enrolment.drop_reason = body.reason
    await session.execute(
        update(Course)
        .where(Course.id == course.id)
        .values(seats_taken=Course.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )
    reason: DropReason = body.reason
    await append_event(
        session,
        platform,
        TrainingDropped(
            enrolment_id=enrolment.id,
            course_id=course.id,
            worker_id=enrolment.worker_id,
            commune_code=course.commune_code,
            dropped_on=body.dropped_on,
            reason=reason,
        ),
        enrolment.id,
    )
    return enrolment
