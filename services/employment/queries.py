"""Read side of the employment service: response views and target progress."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment import domain
from services.employment.domain import PlacementPeriod, TargetFigures
from services.employment.models import (
    Course,
    Enrolment,
    HouseholdClassChange,
    Placement,
    Target,
    Worker,
)
from services.employment.schemas import (
    ClassChangeOut,
    CourseOut,
    EnrolmentOut,
    MeasureOut,
    PlacementOut,
    ProgressOut,
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
        priority=domain.PriorityFlags(
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


def enrolment_view(
    enrolment: Enrolment, placed: Iterable[date], window_months: int, as_of: date
) -> EnrolmentOut:
    """The enrolment, with (for a graduate) whether a job followed within the window."""
    outcome = None
    if enrolment.status == "completed" and enrolment.completed_on is not None:
        outcome = domain.graduate_outcome(enrolment.completed_on, placed, window_months, as_of)
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


def _measure_out(measure: domain.Measure) -> MeasureOut:
    return MeasureOut(
        target=measure.target,
        achieved=measure.achieved,
        percent_of_target=measure.percent_of_target,
        poor=measure.poor,
        near_poor=measure.near_poor,
        poor_and_near_poor_share_percent=measure.poor_and_near_poor_share_percent,
    )


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
    unit: domain.AdminUnit,
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
    progress = domain.target_progress(
        await _figures(session, year, unit.code),
        year=year,
        as_of=as_of,
        period=period,
        placements=[
            domain.PlacementFact(pid, worker, on, domain.class_on(histories[household], on))
            for pid, worker, on, household in placements
        ],
        trainees=[
            domain.TraineeFact(
                eid, worker, on, dropped, rural, domain.class_on(histories[household], on)
            )
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
        placements=_measure_out(progress.placements),
        trainees=_measure_out(progress.trainees),
        rural_trainees=_measure_out(progress.rural_trainees),
    )
