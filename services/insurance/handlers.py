"""What the insurance service does with households events: entitlements follow the registry.

| event (ansinh.households.v1) | effect |
| --- | --- |
| household_registered | remember the household, its commune and class |
| person_added | remember the person (pseudonymised); entitle a member of a poor or near-poor household, and a child under 6 until the 6th birthday |
| household_reclassified | end the members' entitlement of the class left (after the grace when leaving poverty), grant the one of the class entered, revoke cards left without entitlement |

Each consumed model below is this service's own reading of the published contract
(tolerant reader: only the fields used, extra fields ignored).
"""  # noqa: E501

from __future__ import annotations

from datetime import date
from functools import partial

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from services.insurance.cards.lifecycle import follow_entitlements
from services.insurance.domain.entitlements import (
    household_entitlement_end,
    is_under_six,
    local_date,
    sixth_birthday,
)
from services.insurance.domain.policies import (
    HOUSEHOLD_GROUPS,
    POLICIES,
    BeneficiaryGroup,
    LocalRules,
)
from services.insurance.entitlements import (
    Grant,
    Outbox,
    end_entitlement,
    entitlements_of,
    grant_entitlement,
)
from services.insurance.models import InsuredHousehold, InsuredPerson
from shared.consumer import HandlerContext, On
from shared.prefetch import Prefetch, lookup

#: History before Decree 146/2018 is out of scope: no entitlement starts earlier.
EARLIEST_START = POLICIES[0].valid_from


class HouseholdRegistered(BaseModel):
    model_config = ConfigDict(extra="ignore")

    household_id: str
    commune_code: str
    registered_on: date
    poverty_class: str = "unclassified"


class PersonAdded(BaseModel):
    model_config = ConfigDict(extra="ignore")

    person_id: str
    household_id: str
    commune_code: str
    citizen_pseudonym: str | None
    sex: str
    date_of_birth: date
    ethnic_minority: bool


class HouseholdReclassified(BaseModel):
    model_config = ConfigDict(extra="ignore")

    household_id: str
    commune_code: str
    from_class: str
    to_class: str
    effective_date: date
    basis: str


def _publish(ctx: HandlerContext, out: Outbox) -> None:
    for payload, subject in out:
        ctx.publish(payload, subject)


async def _household(ctx: HandlerContext, household_id: str, commune: str) -> InsuredHousehold:
    household = await lookup(ctx.session, InsuredHousehold, household_id)
    if household is None:  # its registration predates this service's history
        household = InsuredHousehold(id=household_id, commune_code=commune)
        household.poverty_class = "unclassified"
        ctx.session.add(household)
    return household


async def record_household(
    rules: LocalRules, ctx: HandlerContext, event: HouseholdRegistered
) -> None:
    household = await _household(ctx, event.household_id, event.commune_code)
    household.commune_code = event.commune_code
    household.poverty_class = event.poverty_class
    household.class_since = event.registered_on
    household.class_event_id = ctx.event.id


async def record_person(rules: LocalRules, ctx: HandlerContext, event: PersonAdded) -> None:
    if await lookup(ctx.session, InsuredPerson, event.person_id) is not None:
        return
    household = await _household(ctx, event.household_id, event.commune_code)
    person = InsuredPerson(
        id=event.person_id,
        household_id=event.household_id,
        commune_code=event.commune_code,
        citizen_pseudonym=event.citizen_pseudonym,
        sex=event.sex,
        date_of_birth=event.date_of_birth,
        ethnic_minority=event.ethnic_minority,
        added_event_id=ctx.event.id,
    )
    ctx.session.add(person)
    await ctx.session.flush()
    today = max(local_date(ctx.occurred_at), EARLIEST_START)
    out: Outbox = []
    group = HOUSEHOLD_GROUPS.get(household.poverty_class)
    if group is not None:
        grant = Grant(
            group=group,
            starts_on=max(today, household.class_since or today),
            reason=f"member of a {household.poverty_class} household ({household.id})",
            source="household_event",
            caused_by_event_id=ctx.event.id,
        )
        grant_entitlement(ctx.session, person, grant, rules, out)
    if is_under_six(event.date_of_birth, today):
        birthday = sixth_birthday(event.date_of_birth)
        grant = Grant(
            group=BeneficiaryGroup.CHILD_UNDER_6,
            starts_on=today,
            ends_on=birthday,
            reason=f"child under 6 (born {event.date_of_birth.isoformat()}), "
            f"until the 6th birthday on {birthday.isoformat()}",
            source="household_event",
            caused_by_event_id=ctx.event.id,
        )
        grant_entitlement(ctx.session, person, grant, rules, out)
    _publish(ctx, out)


async def follow_reclassification(
    rules: LocalRules, ctx: HandlerContext, event: HouseholdReclassified
) -> None:
    household = await _household(ctx, event.household_id, event.commune_code)
    household.poverty_class = event.to_class
    household.class_since = event.effective_date
    household.class_event_id = ctx.event.id
    members = (
        (
            await ctx.session.execute(
                select(InsuredPerson).where(InsuredPerson.household_id == event.household_id)
            )
        )
        .scalars()
        .all()
    )
    leaving = HOUSEHOLD_GROUPS.get(event.from_class)
    entering = HOUSEHOLD_GROUPS.get(event.to_class)
    why = (
        f"household {event.household_id} reclassified {event.from_class} → {event.to_class} "
        f"effective {event.effective_date.isoformat()} ({event.basis})"
    )
    out: Outbox = []
    for person in members:
        if leaving is not None and leaving != entering:
            ends_on = household_entitlement_end(
                event.from_class, event.to_class, event.effective_date, rules
            )
            for entitlement in await entitlements_of(ctx.session, person.id):
                if entitlement.group == leaving and entitlement.end_reason is None:
                    end_entitlement(entitlement, ends_on, why, out, caused_by_event_id=ctx.event.id)
        if entering is not None and leaving != entering:
            grant = Grant(
                group=entering,
                starts_on=max(event.effective_date, EARLIEST_START),
                reason=why,
                source="household_event",
                caused_by_event_id=ctx.event.id,
            )
            grant_entitlement(ctx.session, person, grant, rules, out)
    await ctx.session.flush()
    today = local_date(ctx.occurred_at)
    await follow_entitlements(
        ctx.session, [p.id for p in members], today, out, caused_by_event_id=ctx.event.id
    )
    _publish(ctx, out)


def handlers_for(rules: LocalRules) -> list[On]:
    """The subscriptions of the ``insurance.entitlements`` consumer under ``rules``."""
    households = "vn.ansinh.households"
    return [
        On(f"{households}.household_registered.v1", HouseholdRegistered,
           partial(record_household, rules)),
        On(f"{households}.person_added.v1", PersonAdded, partial(record_person, rules)),
        On(f"{households}.household_reclassified.v1", HouseholdReclassified,
           partial(follow_reclassification, rules)),
    ]  # fmt: skip


HANDLERS = handlers_for(LocalRules())

#: Rows the handlers look up by key, read once per batch.
PREFETCH = [Prefetch(InsuredHousehold, "household_id"), Prefetch(InsuredPerson, "person_id")]
