"""Vocational training API: courses, enrolment within capacity, completion and drop-out."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.employment import domain
from services.employment.models import Course, Enrolment
from services.employment.operations import (
    SERVICE,
    complete_training,
    drop_out,
    enrol_worker,
    get_course,
    get_enrolment,
    policy,
    rule_violations,
)
from services.employment.queries import course_view, enrolment_view, placement_dates
from services.employment.schemas import (
    CompletionIn,
    CourseIn,
    CourseOut,
    DropOutIn,
    EnrolmentIn,
    EnrolmentOut,
)
from shared.auth import CurrentPrincipal, authorize_read, authorize_write, readable_communes
from shared.problems import Conflict
from shared.service import Runtime, SessionDep

router = APIRouter(tags=["training"])


@router.post("/courses", status_code=status.HTTP_201_CREATED, response_model=CourseOut)
async def create_course(
    body: CourseIn, principal: CurrentPrincipal, session: SessionDep, runtime: Runtime
) -> CourseOut:
    """Open a vocational training course."""
    authorize_write(principal, SERVICE, body.commune_code)
    with rule_violations():
        domain.check_course(
            body.level,
            body.starts_on,
            body.ends_on,
            elementary_max_months=policy(runtime).elementary_course_max_months,
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
    return course_view(course)


@router.get("/courses", response_model=list[CourseOut])
async def list_courses(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[CourseOut]:
    """Courses the caller may read, by start date."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Course).order_by(Course.starts_on, Course.id)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Course.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Course.commune_code == commune_code)
    if year:
        query = query.where(Course.starts_on.between(date(year, 1, 1), date(year, 12, 31)))
    return [course_view(c) for c in (await session.execute(query)).scalars()]


@router.get("/courses/{course_id}", response_model=CourseOut)
async def read_course(
    course_id: str, principal: CurrentPrincipal, session: SessionDep
) -> CourseOut:
    """One course with its seats taken."""
    course = await get_course(session, course_id)
    authorize_read(principal, SERVICE, course.commune_code)
    return course_view(course)


@router.post(
    "/courses/{course_id}/enrolments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentOut,
)
async def create_enrolment(
    course_id: str, body: EnrolmentIn, principal: CurrentPrincipal, session: SessionDep
) -> EnrolmentOut:
    """Enrol a registered worker; 409 when the course is full."""
    try:
        async with session.begin():
            enrolment = await enrol_worker(session, principal, course_id, body)
    except IntegrityError as exc:  # the same worker, enrolled concurrently
        raise Conflict("body.worker_id: the worker is already enrolled in this course") from exc
    return enrolment_view(enrolment, (), 0, body.enrolled_on)


@router.get("/courses/{course_id}/enrolments", response_model=list[EnrolmentOut])
async def list_enrolments(
    course_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
    as_of: Annotated[
        date | None, Query(description="judge graduates' outcomes on this day")
    ] = None,
) -> list[EnrolmentOut]:
    """A course's trainees; graduates say whether they were placed within the window."""
    course = await get_course(session, course_id)
    authorize_read(principal, SERVICE, course.commune_code)
    enrolments = (
        (
            await session.execute(
                select(Enrolment)
                .where(Enrolment.course_id == course_id)
                .order_by(Enrolment.enrolled_on, Enrolment.id)
            )
        )
        .scalars()
        .all()
    )
    placed = await placement_dates(session, [e.worker_id for e in enrolments])
    window = policy(runtime).graduate_placement_window_months
    day = as_of or date.today()
    return [enrolment_view(e, placed[e.worker_id], window, day) for e in enrolments]


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentOut)
async def read_enrolment(
    enrolment_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
    as_of: Annotated[
        date | None, Query(description="judge the graduate's outcome on this day")
    ] = None,
) -> EnrolmentOut:
    """One enrolment; for a graduate, whether a job followed within the window."""
    enrolment, course = await get_enrolment(session, enrolment_id)
    authorize_read(principal, SERVICE, course.commune_code)
    placed = await placement_dates(session, [enrolment.worker_id])
    window = policy(runtime).graduate_placement_window_months
    return enrolment_view(enrolment, placed[enrolment.worker_id], window, as_of or date.today())


@router.post("/enrolments/{enrolment_id}/completion", response_model=EnrolmentOut)
async def complete_enrolment(
    enrolment_id: str,
    body: CompletionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
) -> EnrolmentOut:
    """Record that the trainee completed the course (with the certificate number, if any)."""
    async with session.begin():
        enrolment = await complete_training(session, principal, enrolment_id, body)
    return await read_enrolment(enrolment.id, principal, session, runtime)


@router.post("/enrolments/{enrolment_id}/drop-out", response_model=EnrolmentOut)
async def drop_enrolment(
    enrolment_id: str, body: DropOutIn, principal: CurrentPrincipal, session: SessionDep
) -> EnrolmentOut:
    """Record that the trainee left the course; the seat is freed."""
    async with session.begin():
        enrolment = await drop_out(session, principal, enrolment_id, body)
    return enrolment_view(enrolment, (), 0, body.dropped_on)
