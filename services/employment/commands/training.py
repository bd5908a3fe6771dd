"""Write operations shared by the API and the bulk import.

Each function works inside the caller's transaction, checks the caller's right to act in
the commune concerned, and appends the resulting event to the outbox in that same
transaction. Rule breaks surface as 422 problems naming the input field (``body.x``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment import domain
from services.employment.domain import CourseLevel, PlacementPeriod, RuleBroken
from services.employment.events import (
    DropReason,
    TrainingCompleted,
    TrainingDropped,
    TrainingEnrolled,
    WorkerPlaced,
    WorkerRegistered,
)
from services.employment.models import (
    Course,
    Enrolment,
    HouseholdClassChange,
    KnownHousehold,
    KnownPerson,
    Placement,
    Worker,
    platform,
)
from services.employment.schemas import (
    CompletionIn,
    DropOutIn,
    EnrolmentIn,
    PlacementIn,
    WorkerIn,
)
from shared.auth import Principal, Role, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict, Forbidden, NotFound, RuleViolation
from shared.service import ServiceRuntime

if TYPE_CHECKING:
    from services.employment.app import EmploymentSettings

SERVICE = "employment"


def policy(runtime: ServiceRuntime) -> EmploymentSettings:
    """The employment settings of the running service (placement period, windows)."""
    return cast("EmploymentSettings", runtime.settings)


def authorize_writer(principal: Principal) -> None:
    """403 unless the caller may make changes in this service at all (before any lookup, so
    a caller without write rights learns nothing about what exists)."""
    if principal.role is Role.ADMIN:
        return
    if principal.role is not Role.OPERATOR:
        raise Forbidden(f"Role {principal.role} may not make changes.")
    if not principal.covers_service(SERVICE):
        raise Forbidden(f"Not authorised to act in service {SERVICE}.")


@contextmanager
def rule_violations() -> Iterator[None]:
    """Turn a broken domain rule into the 422 problem that names the field."""
    try:
        yield
    except RuleBroken as exc:
        raise RuleViolation(str(exc), field=exc.field) from exc


async def get_worker(session: AsyncSession, worker_id: str, *, lock: bool = False) -> Worker:
    query = select(Worker).where(Worker.id == worker_id)
    worker = (
        await session.execute(query.with_for_update() if lock else query)
    ).scalar_one_or_none()
    if worker is None:
        raise NotFound(f"worker {worker_id} does not exist")
    return worker


async def worker_for_body(session: AsyncSession, worker_id: str, *, lock: bool = False) -> Worker:
    """The worker named in a request body; a 422 naming ``body.worker_id`` if there is none."""
    try:
        return await get_worker(session, worker_id, lock=lock)
    except NotFound as exc:
        raise RuleViolation(
            f"{worker_id} is not a registered worker", field="body.worker_id"
        ) from exc


async def get_course(session: AsyncSession, course_id: str) -> Course:
    course = await session.get(Course, course_id)
    if course is None:
        raise NotFound(f"course {course_id} does not exist")
    return course


async def get_enrolment(session: AsyncSession, enrolment_id: str) -> tuple[Enrolment, Course]:
    enrolment = await session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(f"enrolment {enrolment_id} does not exist")
    return enrolment, await get_course(session, enrolment.course_id)


async def class_history(session: AsyncSession, household_id: str) -> list[tuple[date, str]]:
    """The household's recognised classes, (effective date, class), in recorded order."""
    rows = await session.execute(
        select(HouseholdClassChange.effective_date, HouseholdClassChange.poverty_class)
        .where(HouseholdClassChange.household_id == household_id)
        .order_by(HouseholdClassChange.seq)
    )
    return [(effective, poverty_class) for effective, poverty_class in rows.all()]


async def household_class_on(session: AsyncSession, household_id: str, day: date) -> str:
    return domain.class_on(await class_history(session, household_id), day)


# --- workers --------------------------------------------------------------------------


async def register_worker(session: AsyncSession, principal: Principal, body: WorkerIn) -> Worker:
    """A worker for a household member known from the households service's events."""
    authorize_writer(principal)
    person = await session.get(KnownPerson, body.person_id)
    if person is None:
        raise RuleViolation(
            f"person {body.person_id} is not known from the households registry",
            field="body.person_id",
        )
    authorize_write(principal, SERVICE, person.commune_code)
    taken = (
        await session.execute(select(Worker.id).where(Worker.person_id == person.person_id))
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"body.person_id: this person is already registered as worker {taken}")
    household = await session.get(KnownHousehold, person.household_id)
    household_class = household.poverty_class if household else "unclassified"
    flags = domain.priority_flags(
        household_class, household.area if household else None, person.ethnic_minority
    )
    worker = Worker(
        id=str(uuid.uuid4()),
        person_id=person.person_id,
        household_id=person.household_id,
        commune_code=person.commune_code,
        registered_on=body.registered_on,
        household_class=household_class,
        poor_household=flags.poor_household,
        near_poor_household=flags.near_poor_household,
        ethnic_minority=flags.ethnic_minority,
        rural_worker=flags.rural_worker,
    )
    session.add(worker)
    await append_event(session, platform, _registered_event(worker), worker.id)
    return worker


def _registered_event(worker: Worker) -> WorkerRegistered:
    return WorkerRegistered(
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
    )


# --- placements -----------------------------------------------------------------------


async def place_worker(
    session: AsyncSession, principal: Principal, body: PlacementIn, period: PlacementPeriod
) -> Placement:
    """Record a job; a second one in the same period is kept but flagged as a repeat."""
    authorize_writer(principal)
    # The row lock serialises placements of one worker, so two concurrent ones in the same
    # period cannot both be recorded as the first.
    worker = await worker_for_body(session, body.worker_id, lock=True)
    authorize_write(principal, SERVICE, worker.commune_code)
    with rule_violations():
        domain.check_placement(body.kind, body.employer, body.destination_country)
    if body.external_ref is not None and await _recorded_placement(session, body.external_ref):
        raise Conflict(f"body.external_ref: placement {body.external_ref!r} is already recorded")
    key = domain.period_key(body.placed_on, period)
    placement = Placement(
        id=str(uuid.uuid4()),
        worker_id=worker.id,
        commune_code=worker.commune_code,
        kind=body.kind.value,
        placed_on=body.placed_on,
        employer=body.employer,
        destination_country=body.destination_country,
        monthly_wage=body.monthly_wage,
        period=key,
        first_placement_id=await _first_in_period(session, worker.id, key),
        external_ref=body.external_ref,
    )
    session.add(placement)
    household_class = await household_class_on(session, worker.household_id, body.placed_on)
    await append_event(
        session, platform, _placed_event(worker, placement, household_class), worker.id
    )
    return placement


async def _recorded_placement(session: AsyncSession, external_ref: str) -> bool:
    found = await session.execute(
        select(Placement.id).where(Placement.external_ref == external_ref)
    )
    return found.first() is not None


async def _first_in_period(session: AsyncSession, worker_id: str, period: str) -> str | None:
    """The worker's placement already recorded in ``period``, if any (the one that counts)."""
    found = await session.execute(
        select(Placement.id)
        .where(Placement.worker_id == worker_id, Placement.period == period)
        .order_by(Placement.placed_on, Placement.id)
        .limit(1)
    )
    return found.scalar_one_or_none()


def _placed_event(worker: Worker, placement: Placement, household_class: str) -> WorkerPlaced:
    return WorkerPlaced(
        placement_id=placement.id,
        worker_id=worker.id,
        person_id=worker.person_id,
        household_id=worker.household_id,
        commune_code=placement.commune_code,
        kind=placement.kind,
        placed_on=placement.placed_on,
        destination_country=placement.destination_country,
        household_class=household_class,
        period=placement.period,
        repeat_in_period=placement.first_placement_id is not None,
        first_placement_id=placement.first_placement_id,
    )


# --- vocational training --------------------------------------------------------------


async def enrol_worker(
    session: AsyncSession, principal: Principal, course_id: str, body: EnrolmentIn
) -> Enrolment:
    """A seat for a registered worker; 409 when the course is full or the worker is in it."""
    authorize_writer(principal)
    course = await get_course(session, course_id)
    authorize_write(principal, SERVICE, course.commune_code)
    worker = await worker_for_body(session, body.worker_id)
    with rule_violations():
        domain.check_enrolment_date(body.enrolled_on, course.ends_on)
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
    enrolment, course = await _open_enrolment(session, principal, enrolment_id)
    with rule_violations():
        domain.check_completion(body.completed_on, enrolment.enrolled_on, course.starts_on)
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
    enrolment, course = await _open_enrolment(session, principal, enrolment_id)
    with rule_violations():
        domain.check_drop_out(body.dropped_on, enrolment.enrolled_on)
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
