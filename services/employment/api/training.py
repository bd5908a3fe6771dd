"""Vocational training API: courses, enrolment within capacity, completion and drop-out."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.employment import queries
from services.employment.api.deps import (
    CommuneQuery,
    CurrentPrincipal,
    Policy,
    SessionDep,
    YearQuery,
)
from services.employment.commands.training import complete_training, drop_out, enrol, open_course
from services.employment.schemas import (
    CompletionIn,
    CourseIn,
    CourseOut,
    DropOutIn,
    EnrolmentIn,
    EnrolmentOut,
)
from services.employment.views import course_view, enrolment_view

router = APIRouter(tags=["training"])


@router.post("/courses", status_code=status.HTTP_201_CREATED, response_model=CourseOut)
async def create_course(
    body: CourseIn, principal: CurrentPrincipal, session: SessionDep, policy: Policy
) -> CourseOut:
    """Open a vocational training course."""
    return course_view(await open_course(session, principal, body, policy))


@router.get("/courses", response_model=list[CourseOut])
async def list_courses(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    year: YearQuery = None,
) -> list[CourseOut]:
    """Courses the caller may read, by start date."""
    return await queries.list_courses(session, principal, commune_code=commune_code, year=year)


@router.get("/courses/{course_id}", response_model=CourseOut)
async def read_course(
    course_id: str, principal: CurrentPrincipal, session: SessionDep
) -> CourseOut:
    """One course with its seats taken."""
    return await queries.read_course(session, principal, course_id)


@router.post(
    "/courses/{course_id}/enrolments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolmentOut,
)
async def create_enrolment(
    course_id: str, body: EnrolmentIn, principal: CurrentPrincipal, session: SessionDep
) -> EnrolmentOut:
    """Enrol a registered worker; 409 when the course is full."""
    enrolment = await enrol(session, principal, course_id, body)
    return enrolment_view(enrolment, (), 0, body.enrolled_on)


@router.get("/courses/{course_id}/enrolments", response_model=list[EnrolmentOut])
async def list_enrolments(
    course_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    policy: Policy,
    as_of: Annotated[
        date | None, Query(description="judge graduates' outcomes on this day")
    ] = None,
) -> list[EnrolmentOut]:
    """A course's trainees; graduates say whether they were placed within the window."""
    return await queries.course_enrolments(session, principal, course_id, policy, as_of)


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentOut)
async def read_enrolment(
    enrolment_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    policy: Policy,
    as_of: Annotated[
        date | None, Query(description="judge the graduate's outcome on this day")
    ] = None,
) -> EnrolmentOut:
    """One enrolment; for a graduate, whether a job followed within the window."""
    return await queries.read_enrolment(session, principal, enrolment_id, policy, as_of)


@router.post("/enrolments/{enrolment_id}/completion", response_model=EnrolmentOut)
async def complete_enrolment(
    enrolment_id: str,
    body: CompletionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    policy: Policy,
) -> EnrolmentOut:
    """Record that the trainee completed the course (with the certificate number, if any)."""
    enrolment = await complete_training(session, principal, enrolment_id, body)
    return await queries.read_enrolment(session, principal, enrolment.id, policy, None)


@router.post("/enrolments/{enrolment_id}/drop-out", response_model=EnrolmentOut)
async def drop_enrolment(
    enrolment_id: str, body: DropOutIn, principal: CurrentPrincipal, session: SessionDep
) -> EnrolmentOut:
    """Record that the trainee left the course; the seat is freed."""
    enrolment = await drop_out(session, principal, enrolment_id, body)
    return enrolment_view(enrolment, (), 0, body.dropped_on)
