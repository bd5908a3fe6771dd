"""Recording a job for a worker; a repeat in the same period is flagged, not counted twice."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.commands.checks import authorize_writer, rule_violations, worker_for_body
from services.employment.domain.placements import PlacementPeriod, check_placement, period_key
from services.employment.events import WorkerPlaced
from services.employment.models import Placement, Worker, platform
from services.employment.records import household_class_on
from services.employment.schemas import PlacementIn
from services.employment.settings import SERVICE, EmploymentSettings
from shared.auth import Principal, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict


def placement_period(policy: EmploymentSettings) -> PlacementPeriod:
    """The period within which a worker counts once (``ANSINH_EMPLOYMENT_PLACEMENT_PERIOD``)."""
    return PlacementPeriod(policy.placement_period)


async def record_placement(
    session: AsyncSession, principal: Principal, body: PlacementIn, policy: EmploymentSettings
) -> Placement:
    """Record a job in its own transaction; a repeat in the same period is flagged."""
    try:
        async with session.begin():
            return await place_worker(session, principal, body, placement_period(policy))
    except IntegrityError as exc:  # the same external reference, recorded concurrently
        raise Conflict("body.external_ref: this placement is already recorded") from exc


async def place_worker(
    session: AsyncSession, principal: Principal, body: PlacementIn, period: PlacementPeriod
) -> Placement:
    """Record a job; a second one in the same period is kept but flagged as a repeat.

    Works inside the caller's transaction (``record_placement``'s, or the import's savepoint).
    """
    authorize_writer(principal)
    # The row lock serialises placements of one worker, so two concurrent ones in the same
    # period cannot both be recorded as the first.
    worker = await worker_for_body(session, body.worker_id, lock=True)
    authorize_write(principal, SERVICE, worker.commune_code)
    with rule_violations():
        check_placement(body.kind, body.employer, body.destination_country)
    if body.external_ref is not None and await _recorded_placement(session, body.external_ref):
        raise Conflict(f"body.external_ref: placement {body.external_ref!r} is already recorded")
    key = period_key(body.placed_on, period)
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
