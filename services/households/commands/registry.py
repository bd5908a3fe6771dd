"""The registry's write path: registering households and members, reading personal data
(an audited read, so it publishes an event), and changing a household's recognised class.

The commands (`create_household`, `add_member`, `read_personal_data`) open their own
transaction; the helpers below them, shared with the review process and the bulk import,
work inside the caller's transaction and append their events to its outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.domain import is_ethnic_minority
from services.households.events import (
    HouseholdReclassified,
    HouseholdRegistered,
    PersonAdded,
    PersonalDataRead,
)
from services.households.models import Household, Person, platform
from services.households.records import get_household
from services.households.schemas import HouseholdIn, HouseholdOut, PersonalDataOut, PersonIn
from services.households.settings import SERVICE
from services.households.views import household_view
from shared.auth import Principal, Role, authorize_write
from shared.events import EventPayload
from shared.outbox import append_event, append_events
from shared.problems import Conflict, Forbidden, NotFound
from shared.pseudonym import Pseudonymizer

#: Roles that may read a person's name, citizen ID and address.
_PERSONAL_DATA_READERS = (Role.OPERATOR, Role.ADMIN, Role.SERVICE, Role.INSPECTOR)


async def create_household(
    session: AsyncSession, principal: Principal, body: HouseholdIn, pseudonyms: Pseudonymizer
) -> HouseholdOut:
    """Register a household with its members; 409 when a citizen ID or reference is taken."""
    authorize_write(principal, SERVICE, body.commune_code)
    try:
        async with session.begin():
            household, persons = await register_household(session, body, pseudonyms)
    except IntegrityError as exc:  # a concurrent registration took the citizen ID first
        raise Conflict("a citizen ID or household reference is already registered") from exc
    return household_view(household, persons)


async def add_member(
    session: AsyncSession,
    principal: Principal,
    household_id: str,
    member: PersonIn,
    pseudonyms: Pseudonymizer,
) -> None:
    """Add a person to a household and publish person_added."""
    async with session.begin():
        household = await get_household(session, household_id)
        authorize_write(principal, SERVICE, household.commune_code)
        await refuse_duplicate_citizen_ids(session, [member], field_prefix="body")
        person, event = new_person(household, member, pseudonyms)
        session.add(person)
        await append_event(session, platform, event, household.id)


async def read_personal_data(
    session: AsyncSession, principal: Principal, person_id: str, purpose: str
) -> PersonalDataOut:
    """Name, citizen ID and address of one person, the read recorded as personal_data_read."""
    if principal.role not in _PERSONAL_DATA_READERS:
        raise Forbidden("this role may not read personal data")
    async with session.begin():
        person = await session.get(Person, person_id)
        if person is None:
            raise NotFound(f"person {person_id} does not exist")
        household = await get_household(session, person.household_id)
        if principal.role == Role.OPERATOR:
            authorize_write(principal, SERVICE, household.commune_code)
        await append_event(
            session,
            platform,
            PersonalDataRead(
                person_id=person.id,
                household_id=household.id,
                commune_code=household.commune_code,
                reader_subject=principal.subject,
                reader_role=str(principal.role),
                purpose=purpose,
            ),
            household.id,
        )
    return PersonalDataOut(
        person_id=person.id,
        household_id=household.id,
        full_name=person.full_name,
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        ethnicity=person.ethnicity,
        citizen_id=person.citizen_id,
        address=household.address,
    )


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
