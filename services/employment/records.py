"""Rows and reference data that the write path and the read side both look up.

A missing row is a 404 (``NotFound``); a unit named in a path that did not exist in the
span asked about is a 422 naming ``path.unit_code``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.domain.admin_units import AdminUnit, communes_of, unit_in_force
from services.employment.domain.workers import class_on
from services.employment.models import AdminUnitRow, Course, Enrolment, HouseholdClassChange, Worker
from services.employment.settings import SERVICE
from shared.auth import Principal, authorize_read, authorize_write
from shared.problems import NotFound, RuleViolation


async def get_worker(session: AsyncSession, worker_id: str, *, lock: bool = False) -> Worker:
    """The worker, row-locked for the transaction if ``lock``; 404 if there is none."""
    query = select(Worker).where(Worker.id == worker_id)
    worker = (
        await session.execute(query.with_for_update() if lock else query)
    ).scalar_one_or_none()
    if worker is None:
        raise NotFound(f"worker {worker_id} does not exist")
    return worker


async def get_course(session: AsyncSession, course_id: str) -> Course:
    """The course; 404 if there is none."""
    course = await session.get(Course, course_id)
    if course is None:
        raise NotFound(f"course {course_id} does not exist")
    return course


async def get_enrolment(session: AsyncSession, enrolment_id: str) -> tuple[Enrolment, Course]:
    """The enrolment and its course; 404 if there is no such enrolment."""
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
    """The class the household had on ``day``, as received from the households service."""
    return class_on(await class_history(session, household_id), day)


async def load_units(session: AsyncSession) -> list[AdminUnit]:
    """Every administrative unit loaded, each with its validity dates."""
    rows = (await session.execute(select(AdminUnitRow).order_by(AdminUnitRow.id))).scalars()
    return [
        AdminUnit(
            code=r.code,
            name=r.name,
            level=r.level,  # type: ignore[arg-type]
            parent_code=r.parent_code,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
        )
        for r in rows
    ]


async def unit_and_communes(
    session: AsyncSession, unit_code: str, start: date, end: date
) -> tuple[AdminUnit, frozenset[str]]:
    """The unit as it existed between ``start`` and ``end``, and the communes it covered."""
    units = await load_units(session)
    unit = unit_in_force(units, unit_code, start, end)
    if unit is None:
        raise RuleViolation(
            f"no administrative unit {unit_code} existed between {start} and {end}",
            field="path.unit_code",
        )
    return unit, communes_of(units, unit_code, start, end)


def authorize_unit(principal: Principal, communes: frozenset[str], *, write: bool) -> None:
    """A district's plan is for the officers of all its communes (or the whole locality)."""
    for commune in sorted(communes):
        if write:
            authorize_write(principal, SERVICE, commune)
        else:
            authorize_read(principal, SERVICE, commune)
