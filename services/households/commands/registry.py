"""Write operations shared by the API, the review process and bulk import.

Each function works inside the caller's transaction and appends the resulting events to
the outbox in that same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.events import HouseholdReclassified, HouseholdRegistered, PersonAdded
from services.households.models import Household, Person, platform
from services.households.schemas import HouseholdIn, HouseholdOut, MemberOut, PersonIn
from shared.events import EventPayload
from shared.outbox import append_events
from shared.problems import Conflict, NotFound
from shared.pseudonym import Pseudonymizer

#: Ethnic groups counted as minorities (everyone but the Kinh majority).
MAJORITY_ETHNICITY = "kinh"


def is_ethnic_minority(ethnicity: str) -> bool:
    return ethnicity.strip().lower() != MAJORITY_ETHNICITY


async def get_household(session: AsyncSession, household_id: str) -> Household:
    household = await session.get(Household, household_id)
    if household is None:
        raise NotFound(f"household {household_id} does not exist")
    return household


async def refuse_duplicate_citizen_ids(
    session: AsyncSession, members: Sequence[PersonIn], field_prefix: str = "body.members"
) -> None:
    """409 naming the member whose citizen ID is already registered (or repeated in the body)."""
    seen: dict[str, int] = {}
    for index, member in enumerate(members):
        if member.citizen_id is None:
            continue
        if member.citizen_id in seen:
            raise Conflict(
                f"{field_prefix}.{index}.citizen_id repeats the citizen ID of "
                f"{field_prefix}.{seen[member.citizen_id]}.citizen_id"
            )
        seen[member.citizen_id] = index
    if not seen:
        return
    taken = (
        (await session.execute(select(Person.citizen_id).where(Person.citizen_id.in_(list(seen)))))
        .scalars()
        .all()
    )
    if taken:
        index = seen[str(taken[0])]
        raise Conflict(
            f"{field_prefix}.{index}.citizen_id: this citizen ID is already registered "
            "in another household"
        )


def new_person(
    household: Household, member: PersonIn, pseudonyms: Pseudonymizer
) -> tuple[Person, PersonAdded]:
    person = Person(
        id=str(uuid.uuid4()),
        household_id=household.id,
        full_name=member.full_name,
        sex=member.sex,
        date_of_birth=member.date_of_birth,
        ethnicity=member.ethnicity,
        citizen_id=member.citizen_id,
        citizen_pseudonym=pseudonyms.of(member.citizen_id) if member.citizen_id else None,
        relation_to_head=member.relation_to_head,
    )
    event = PersonAdded(
        person_id=person.id,
        household_id=household.id,
        commune_code=household.commune_code,
        citizen_pseudonym=person.citizen_pseudonym,
        sex=member.sex,
        date_of_birth=member.date_of_birth,
        ethnicity=member.ethnicity,
        ethnic_minority=is_ethnic_minority(member.ethnicity),
        relation_to_head=member.relation_to_head,
    )
    return person, event


def build_household(
    body: HouseholdIn, pseudonyms: Pseudonymizer
) -> tuple[Household, list[Person], list[tuple[EventPayload, str]]]:
    """New rows and their events for one registration (nothing written yet)."""
    household = Household(
        id=str(uuid.uuid4()),
        commune_code=body.commune_code,
        village=body.village,
        address=body.address,
        area=body.area,
        poverty_class="unclassified",
        independent_since_year=body.independent_since_year,
        registered_on=body.registered_on,
        external_ref=body.external_ref,
    )
    events: list[tuple[EventPayload, str]] = [
        (
            HouseholdRegistered(
                household_id=household.id,
                commune_code=household.commune_code,
                village=household.village,
                area=body.area,
                registered_on=body.registered_on,
                independent_since_year=body.independent_since_year,
            ),
            household.id,
        )
    ]
    persons = []
    for member in body.members:
        person, added = new_person(household, member, pseudonyms)
        persons.append(person)
        events.append((added, household.id))
    return household, persons, events


async def register_household(
    session: AsyncSession, body: HouseholdIn, pseudonyms: Pseudonymizer
) -> tuple[Household, list[Person]]:
    await refuse_duplicate_citizen_ids(session, body.members)
    if (
        body.external_ref
        and (
            await session.execute(
                select(Household.id).where(Household.external_ref == body.external_ref)
            )
        ).first()
    ):
        raise Conflict(f"body.external_ref: household {body.external_ref!r} is already registered")
    household, persons, events = build_household(body, pseudonyms)
    session.add(household)
    await session.flush()
    session.add_all(persons)
    await append_events(session, platform, events)
    await session.flush()
    return household, persons


async def reclassify(
    session: AsyncSession,
    household: Household,
    *,
    to_class: str,
    standard_code: str | None,
    reasons: Sequence[str],
    effective_date: date,
    basis: str,
    review_id: str | None = None,
    assessment_id: str | None = None,
) -> bool:
    """Change the recognised class and publish household_reclassified; False if unchanged."""
    if household.poverty_class == to_class:
        return False
    event = HouseholdReclassified(
        household_id=household.id,
        commune_code=household.commune_code,
        from_class=household.poverty_class,
        to_class=to_class,
        standard_code=standard_code,
        reasons=list(reasons),
        effective_date=effective_date,
        basis=basis,
        review_id=review_id,
        assessment_id=assessment_id,
    )
    household.poverty_class = to_class
    household.class_standard_code = standard_code
    household.class_since = effective_date
    await append_events(session, platform, [(event, household.id)])
    return True


def household_view(household: Household, persons: Sequence[Person]) -> HouseholdOut:
    """A household without personal data (names and citizen IDs need the audited endpoint)."""
    return HouseholdOut(
        household_id=household.id,
        commune_code=household.commune_code,
        village=household.village,
        area=household.area,
        poverty_class=household.poverty_class,
        class_standard_code=household.class_standard_code,
        class_since=household.class_since,
        registered_on=household.registered_on,
        independent_since_year=household.independent_since_year,
        external_ref=household.external_ref,
        members=[
            MemberOut(
                person_id=p.id,
                sex=p.sex,
                date_of_birth=p.date_of_birth,
                ethnicity=p.ethnicity,
                relation_to_head=p.relation_to_head,
                citizen_pseudonym=p.citizen_pseudonym,
            )
            for p in persons
        ],
    )
