"""Read side of the employment service: what each resource shows the callers who may read it.

No writes and no events; every read checks the caller's right to read the commune concerned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.domain.admin_units import AdminUnit
from services.employment.domain.placements import PlacementPeriod
from services.employment.domain.targets import (
    PlacementFact,
    TargetFigures,
    TraineeFact,
)
from services.employment.domain.targets import (
    target_progress as progress_of,
)
from services.employment.domain.workers import class_on
from services.employment.models import (
    Course,
    Enrolment,
    HouseholdClassChange,
    Placement,
    Target,
    Worker,
)
from services.employment.records import (
    authorize_unit,
    class_history,
    get_course,
    get_enrolment,
    get_worker,
    load_units,
    unit_and_communes,
)
from services.employment.schemas import (
    AdminUnitOut,
    CourseOut,
    EnrolmentOut,
    PlacementOut,
    ProgressOut,
    TargetOut,
    WorkerDetailOut,
    WorkerPage,
    WorkerPersonalDataOut,
)
from services.employment.settings import SERVICE, EmploymentSettings
from services.employment.views import (
    course_view,
    enrolment_view,
    measure_out,
    placement_view,
    target_view,
    worker_detail,
    worker_view,
)
from shared.auth import Principal, Role, authorize_read, authorize_write, readable_communes
from shared.problems import Forbidden, NotFound
from shared.service import service_client

# --- workers --------------------------------------------------------------------------


async def list_workers(
    session: AsyncSession,
    principal: Principal,
    *,
    commune_code: str | None,
    priority_only: bool,
    after: str | None,
    limit: int,
) -> WorkerPage:
    """Workers the caller may read, in id order, a page at a time."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Worker).order_by(Worker.id).limit(limit)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Worker.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Worker.commune_code == commune_code)
    if priority_only:
        query = query.where(
            Worker.poor_household
            | Worker.near_poor_household
            | Worker.ethnic_minority
            | Worker.rural_worker
        )
    if after:
        query = query.where(Worker.id > after)
    items = [worker_view(w) for w in (await session.execute(query)).scalars()]
    return WorkerPage(items=items, next_cursor=items[-1].worker_id if len(items) == limit else None)


async def read_worker(
    session: AsyncSession, principal: Principal, worker_id: str
) -> WorkerDetailOut:
    """One worker, with the household's class history as received from the households service."""
    worker = await get_worker(session, worker_id)
    authorize_read(principal, SERVICE, worker.commune_code)
    return worker_detail(worker, await class_history(session, worker.household_id))


async def read_worker_personal_data(
    session: AsyncSession,
    principal: Principal,
    settings: EmploymentSettings,
    worker_id: str,
    purpose: str,
) -> WorkerPersonalDataOut:
    """Name, citizen ID and address, read from the households API (which records the read)."""
    worker = await get_worker(session, worker_id)
    if principal.role is Role.INSPECTOR:
        authorize_read(principal, SERVICE, worker.commune_code)
    elif principal.role in (Role.OPERATOR, Role.ADMIN):
        authorize_write(principal, SERVICE, worker.commune_code)
    else:
        raise Forbidden("this role may not read personal data")
    client = service_client(settings, settings.households_api_url)
    try:
        data = await client.get_json(
            f"/persons/{worker.person_id}/personal-data",
            purpose=f"employment: {purpose} (asked by {principal.subject})",
        )
    finally:
        await client.aclose()
    if data is None:
        raise NotFound(f"the households registry no longer has person {worker.person_id}")
    return WorkerPersonalDataOut(worker_id=worker.id, **data)


# --- placements -----------------------------------------------------------------------


async def read_placement(
    session: AsyncSession, principal: Principal, placement_id: str
) -> PlacementOut:
    """One placement."""
    placement = await session.get(Placement, placement_id)
    if placement is None:
        raise NotFound(f"placement {placement_id} does not exist")
    authorize_read(principal, SERVICE, placement.commune_code)
    return placement_view(placement)


async def worker_placements(
    session: AsyncSession, principal: Principal, worker_id: str
) -> list[PlacementOut]:
    """A worker's placements, oldest first, repeats flagged."""
    worker = await get_worker(session, worker_id)
    authorize_read(principal, SERVICE, worker.commune_code)
    rows = await session.execute(
        select(Placement)
        .where(Placement.worker_id == worker_id)
        .order_by(Placement.placed_on, Placement.created_at)
    )
    return [placement_view(p) for p in rows.scalars()]


# --- vocational training --------------------------------------------------------------


async def list_courses(
    session: AsyncSession, principal: Principal, *, commune_code: str | None, year: int | None
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


async def read_course(session: AsyncSession, principal: Principal, course_id: str) -> CourseOut:
    """One course with its seats taken."""
    course = await get_course(session, course_id)
    authorize_read(principal, SERVICE, course.commune_code)
    return course_view(course)


async def course_enrolments(
    session: AsyncSession,
    principal: Principal,
    course_id: str,
    policy: EmploymentSettings,
    as_of: date | None,
) -> list[EnrolmentOut]:
    """A course's trainees; graduates say whether they were placed within the window."""
    course = await get_course(session, course_id)
    authorize_read(principal, SERVICE, course.commune_code)
    rows = await session.execute(
        select(Enrolment)
        .where(Enrolment.course_id == course_id)
        .order_by(Enrolment.enrolled_on, Enrolment.id)
    )
    enrolments = rows.scalars().all()
    placed = await placement_dates(session, [e.worker_id for e in enrolments])
    window = policy.graduate_placement_window_months
    day = as_of or date.today()
    return [enrolment_view(e, placed[e.worker_id], window, day) for e in enrolments]


async def read_enrolment(
    session: AsyncSession,
    principal: Principal,
    enrolment_id: str,
    policy: EmploymentSettings,
    as_of: date | None,
) -> EnrolmentOut:
    """One enrolment; for a graduate, whether a job followed within the window."""
    enrolment, course = await get_enrolment(session, enrolment_id)
    authorize_read(principal, SERVICE, course.commune_code)
    placed = await placement_dates(session, [enrolment.worker_id])
    window = policy.graduate_placement_window_months
    return enrolment_view(enrolment, placed[enrolment.worker_id], window, as_of or date.today())


# --- targets and administrative units -------------------------------------------------


async def list_targets(
    session: AsyncSession, principal: Principal, year: int | None
) -> list[TargetOut]:
    """The plans set, by year and unit."""
    authorize_read(principal, SERVICE, None)
    query = select(Target).order_by(Target.year, Target.unit_code)
    if year is not None:
        query = query.where(Target.year == year)
    return [target_view(t) for t in (await session.execute(query)).scalars()]


async def read_progress(
    session: AsyncSession,
    principal: Principal,
    year: int,
    unit_code: str,
    *,
    as_of: date | None,
    policy: EmploymentSettings,
) -> ProgressOut:
    """Placements and trainees against the year's plan, with the poor and near-poor share."""
    day = as_of or date.today()
    start = date(year, 1, 1)
    end = max(start, min(day, date(year, 12, 31)))
    unit, communes = await unit_and_communes(session, unit_code, start, end)
    authorize_unit(principal, communes or frozenset({unit_code}), write=False)
    return await target_progress(
        session,
        unit=unit,
        communes=communes,
        year=year,
        as_of=day,
        period=PlacementPeriod(policy.placement_period),
    )


async def list_admin_units(
    session: AsyncSession, principal: Principal, *, on: date | None, parent_code: str | None
) -> list[AdminUnitOut]:
    """Provinces, districts and communes with their validity dates."""
    authorize_read(principal, SERVICE, None)
    units = await load_units(session)
    return [
        AdminUnitOut(**u.__dict__)
        for u in units
        if (on is None or u.overlaps(on, on))
        and (parent_code is None or u.parent_code == parent_code)
    ]


# --- facts behind the progress ----------------------------------------------------------


async def placement_dates(
    session: AsyncSession, worker_ids: Sequence[str]
) -> dict[str, list[date]]:
    found: dict[str, list[date]] = defaultdict(list)
    if worker_ids:
        rows = await session.execute(
            select(Placement.worker_id, Placement.placed_on).where(
                Placement.worker_id.in_(list(worker_ids))
            )
        )
        for worker_id, placed_on in rows:
            found[worker_id].append(placed_on)
    return found


async def _histories(
    session: AsyncSession, household_ids: set[str]
) -> dict[str, list[tuple[date, str]]]:
    histories: dict[str, list[tuple[date, str]]] = defaultdict(list)
    ids = sorted(household_ids)
    for start in range(0, len(ids), 500):  # stay far below the databases' parameter limits
        rows = await session.execute(
            select(
                HouseholdClassChange.household_id,
                HouseholdClassChange.effective_date,
                HouseholdClassChange.poverty_class,
            )
            .where(HouseholdClassChange.household_id.in_(ids[start : start + 500]))
            .order_by(HouseholdClassChange.seq)
        )
        for household_id, effective, poverty_class in rows:
            histories[household_id].append((effective, poverty_class))
    return histories


async def _placement_facts(
    session: AsyncSession, communes: frozenset[str], start: date, end: date
) -> list[tuple[str, str, date, str]]:
    """(placement, worker, placed on, household) of the communes' workers in the span."""
    rows = await session.execute(
        select(Placement.id, Placement.worker_id, Placement.placed_on, Worker.household_id)
        .join(Worker, Worker.id == Placement.worker_id)
        .where(Placement.commune_code.in_(sorted(communes)))
        .where(Placement.placed_on.between(start, end))
    )
    return [(p, w, on, h) for p, w, on, h in rows.all()]


async def _trainee_facts(
    session: AsyncSession, communes: frozenset[str], start: date, end: date
) -> list[tuple[str, str, date, date | None, bool, str]]:
    """(enrolment, worker, enrolled on, dropped on, rural, household) of the communes' workers."""
    rows = await session.execute(
        select(
            Enrolment.id,
            Enrolment.worker_id,
            Enrolment.enrolled_on,
            Enrolment.dropped_on,
            Worker.rural_worker,
            Worker.household_id,
        )
        .join(Worker, Worker.id == Enrolment.worker_id)
        .where(Enrolment.worker_commune_code.in_(sorted(communes)))
        .where(Enrolment.enrolled_on.between(start, end))
    )
    return [(e, w, on, dropped, rural, h) for e, w, on, dropped, rural, h in rows.all()]


async def _figures(session: AsyncSession, year: int, unit_code: str) -> TargetFigures:
    target = (
        await session.execute(
            select(Target).where(Target.year == year, Target.unit_code == unit_code)
        )
    ).scalar_one_or_none()
    if target is None:
        return TargetFigures(placements=None, trainees=None, rural_trainees=None)
    return TargetFigures(target.placements, target.trainees, target.rural_trainees)


async def target_progress(
    session: AsyncSession,
    *,
    unit: AdminUnit,
    communes: frozenset[str],
    year: int,
    as_of: date,
    period: PlacementPeriod,
) -> ProgressOut:
    """Plan against delivery of one unit: placements and trainees of its communes' workers.

    Each placement and enrolment counts with the class its household had on that day.
    """
    start, end = date(year, 1, 1), date(year, 12, 31)
    placements = await _placement_facts(session, communes, start, end)
    trainees = await _trainee_facts(session, communes, start, end)
    histories = await _histories(session, {p[3] for p in placements} | {t[5] for t in trainees})
    progress = progress_of(
        await _figures(session, year, unit.code),
        year=year,
        as_of=as_of,
        period=period,
        placements=[
            PlacementFact(pid, worker, on, class_on(histories[household], on))
            for pid, worker, on, household in placements
        ],
        trainees=[
            TraineeFact(eid, worker, on, dropped, rural, class_on(histories[household], on))
            for eid, worker, on, dropped, rural, household in trainees
        ],
    )
    return ProgressOut(
        year=year,
        unit_code=unit.code,
        unit_level=unit.level,
        as_of=as_of,
        communes=sorted(communes),
        placement_period=period.value,
        placements=measure_out(progress.placements),
        trainees=measure_out(progress.trainees),
        rural_trainees=measure_out(progress.rural_trainees),
    )
