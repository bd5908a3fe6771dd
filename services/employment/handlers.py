"""What the employment service does with the households service's events.

It keeps a local projection of households (commune, area, class and its history) and of
their members (commune, ethnic-minority flag), and keeps every registered worker's
priority flags current as households are reclassified. The models below are this
service's own reading of the published contracts (tolerant: only the fields it needs).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.domain.workers import priority_flags
from services.employment.models import HouseholdClassChange, KnownHousehold, KnownPerson, Worker
from shared.consumer import HandlerContext, On
from shared.prefetch import Prefetch, lookup

HouseholdClass = Literal["poor", "near_poor", "middle_income", "not_poor", "unclassified"]


class _Consumed(BaseModel):
    model_config = ConfigDict(extra="ignore")


class HouseholdRegistered(_Consumed):
    household_id: str
    commune_code: str
    area: Literal["rural", "urban"]
    registered_on: date
    poverty_class: HouseholdClass = "unclassified"


class PersonAdded(_Consumed):
    person_id: str
    household_id: str
    commune_code: str
    ethnic_minority: bool


class HouseholdReclassified(_Consumed):
    household_id: str
    commune_code: str
    to_class: HouseholdClass
    effective_date: date


async def _household(session: AsyncSession, household_id: str, commune_code: str) -> KnownHousehold:
    """The projected household, created bare if its registration has not arrived yet."""
    household = await lookup(session, KnownHousehold, household_id)
    if household is None:
        household = KnownHousehold(
            household_id=household_id,
            commune_code=commune_code,
            area=None,
            poverty_class="unclassified",
            class_since=None,
        )
        session.add(household)
    return household


async def refresh_worker_flags(session: AsyncSession, household: KnownHousehold) -> None:
    """Bring the priority flags of the household's workers in line with the household."""
    workers = (
        (await session.execute(select(Worker).where(Worker.household_id == household.household_id)))
        .scalars()
        .all()
    )
    for worker in workers:
        flags = priority_flags(household.poverty_class, household.area, worker.ethnic_minority)
        worker.household_class = household.poverty_class
        worker.poor_household = flags.poor_household
        worker.near_poor_household = flags.near_poor_household
        worker.rural_worker = flags.rural_worker


def _record_class(
    ctx: HandlerContext, household: KnownHousehold, poverty_class: str, effective: date
) -> None:
    ctx.session.add(
        HouseholdClassChange(
            household_id=household.household_id,
            effective_date=effective,
            poverty_class=poverty_class,
            event_id=ctx.event.id,
        )
    )
    # Events of one household arrive in order, but a late correction may carry an older
    # effective date: the current class is the one with the latest effective date.
    if household.class_since is None or effective >= household.class_since:
        household.poverty_class = poverty_class
        household.class_since = effective


async def on_household_registered(ctx: HandlerContext, event: HouseholdRegistered) -> None:
    household = await _household(ctx.session, event.household_id, event.commune_code)
    household.commune_code = event.commune_code
    household.area = event.area
    if event.poverty_class != "unclassified":
        _record_class(ctx, household, event.poverty_class, event.registered_on)
    await ctx.session.flush()
    await refresh_worker_flags(ctx.session, household)


async def on_person_added(ctx: HandlerContext, event: PersonAdded) -> None:
    await _household(ctx.session, event.household_id, event.commune_code)
    person = await lookup(ctx.session, KnownPerson, event.person_id)
    if person is None:
        person = KnownPerson(person_id=event.person_id)
        ctx.session.add(person)
    person.household_id = event.household_id
    person.commune_code = event.commune_code
    person.ethnic_minority = event.ethnic_minority


async def on_household_reclassified(ctx: HandlerContext, event: HouseholdReclassified) -> None:
    household = await _household(ctx.session, event.household_id, event.commune_code)
    _record_class(ctx, household, event.to_class, event.effective_date)
    await ctx.session.flush()
    await refresh_worker_flags(ctx.session, household)


_TYPE = "vn.ansinh.households.{}.v1"

HANDLERS = [
    On(_TYPE.format("household_registered"), HouseholdRegistered, on_household_registered),
    On(_TYPE.format("person_added"), PersonAdded, on_person_added),
    On(_TYPE.format("household_reclassified"), HouseholdReclassified, on_household_reclassified),
]

#: Rows the handlers look up by key, read once per batch.
PREFETCH = [Prefetch(KnownHousehold, "household_id"), Prefetch(KnownPerson, "person_id")]
