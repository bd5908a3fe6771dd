"""Registering a household member as a worker, with the priority flags of the household."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.commands.checks import authorize_writer
from services.employment.domain.workers import priority_flags
from services.employment.events import WorkerRegistered
from services.employment.models import KnownHousehold, KnownPerson, Worker, platform
from services.employment.schemas import WorkerIn
from services.employment.settings import SERVICE
from shared.auth import Principal, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict, RuleViolation


async def register_worker(session: AsyncSession, principal: Principal, body: WorkerIn) -> Worker:
    """A worker for a household member known from the households service's events."""
    try:
        async with session.begin():
            return await _register(session, principal, body)
    except IntegrityError as exc:  # a concurrent registration of the same person won
        raise Conflict("body.person_id: this person is already registered as a worker") from exc


async def _register(session: AsyncSession, principal: Principal, body: WorkerIn) -> Worker:
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
    flags = priority_flags(
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
