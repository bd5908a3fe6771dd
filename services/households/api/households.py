"""Households API: registry, personal data (audited), assessments, standards, poverty rates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.households.assessments import (
    assess,
    assessment_view,
    classification,
    record_assessments,
)
from services.households.domain import STANDARDS
from services.households.events import PersonalDataRead
from services.households.models import (
    Assessment,
    CommuneClassCount,
    Household,
    Person,
    Review,
    platform,
)
from services.households.operations import (
    get_household,
    household_view,
    new_person,
    refuse_duplicate_citizen_ids,
    register_household,
)
from services.households.schemas import (
    COMMUNE_CODE_PATTERN,
    AssessmentIn,
    AssessmentOut,
    ClassificationOut,
    ClassifyIn,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    PersonalDataOut,
    PersonIn,
    PovertyRatesOut,
)
from shared.auth import CurrentPrincipal, Role, authorize_read, authorize_write, readable_communes
from shared.outbox import append_event
from shared.problems import Conflict, Forbidden, NotFound, problem_responses
from shared.service import ResourceId, Runtime, SessionDep

SERVICE = "households"
router = APIRouter(tags=["households"])


@router.post(
    "/households",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdOut,
    responses=problem_responses(403, 409),
)
async def create_household(
    body: HouseholdIn, principal: CurrentPrincipal, session: SessionDep, runtime: Runtime
) -> HouseholdOut:
    """Register a household with its members."""
    authorize_write(principal, SERVICE, body.commune_code)
    try:
        async with session.begin():
            household, persons = await register_household(session, body, runtime.pseudonyms)
    except IntegrityError as exc:  # a concurrent registration took the citizen ID first
        raise Conflict("a citizen ID or household reference is already registered") from exc
    return household_view(household, persons)


@router.get("/households", response_model=HouseholdPage, responses=problem_responses(403))
async def list_households(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: Annotated[str | None, Query(pattern=COMMUNE_CODE_PATTERN)] = None,
    poverty_class: Annotated[
        str | None, Query(pattern=r"^(poor|near_poor|middle_income|not_poor|unclassified)$")
    ] = None,
    after: Annotated[
        ResourceId | None, Query(description="cursor: the last household_id of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HouseholdPage:
    """Households the caller may read, in id order, a page at a time."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Household).order_by(Household.id).limit(limit)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Household.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Household.commune_code == commune_code)
    if poverty_class:
        query = query.where(Household.poverty_class == poverty_class)
    if after:
        query = query.where(Household.id > after)
    households = (await session.execute(query)).scalars().all()
    members: dict[str, list[Person]] = {h.id: [] for h in households}
    if households:
        rows = await session.execute(
            select(Person)
            .where(Person.household_id.in_(list(members)))
            .order_by(Person.created_at, Person.id)
        )
        for person in rows.scalars():
            members[person.household_id].append(person)
    items = [household_view(h, members[h.id]) for h in households]
    return HouseholdPage(
        items=items, next_cursor=items[-1].household_id if len(items) == limit else None
    )


async def _readable_household(
    session: SessionDep, principal: CurrentPrincipal, household_id: str
) -> Household:
    household = await get_household(session, household_id)
    authorize_read(principal, SERVICE, household.commune_code)
    return household


@router.get(
    "/households/{household_id}", response_model=HouseholdOut, responses=problem_responses(403, 404)
)
async def read_household(
    household_id: ResourceId, principal: CurrentPrincipal, session: SessionDep
) -> HouseholdOut:
    """One household with its members (pseudonymised)."""
    household = await _readable_household(session, principal, household_id)
    persons = (
        (
            await session.execute(
                select(Person)
                .where(Person.household_id == household_id)
                .order_by(Person.created_at, Person.id)
            )
        )
        .scalars()
        .all()
    )
    return household_view(household, persons)


@router.post(
    "/households/{household_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdOut,
    responses=problem_responses(403, 404, 409),
)
async def add_member(
    household_id: ResourceId,
    body: PersonIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
) -> HouseholdOut:
    """Add a person to a household."""
    async with session.begin():
        household = await get_household(session, household_id)
        authorize_write(principal, SERVICE, household.commune_code)
        await refuse_duplicate_citizen_ids(session, [body], field_prefix="body")
        person, event = new_person(household, body, runtime.pseudonyms)
        session.add(person)
        await append_event(session, platform, event, household.id)
    return await read_household(household_id, principal, session)


@router.get(
    "/persons/{person_id}/personal-data",
    response_model=PersonalDataOut,
    responses=problem_responses(403, 404),
)
async def read_personal_data(
    person_id: ResourceId,
    principal: CurrentPrincipal,
    session: SessionDep,
    purpose: Annotated[
        str, Query(min_length=3, max_length=200, description="why the data is needed")
    ],
) -> PersonalDataOut:
    """Name, citizen ID and address of one person. Every read is recorded as an event."""
    if principal.role not in (Role.OPERATOR, Role.ADMIN, Role.SERVICE, Role.INSPECTOR):
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


@router.post(
    "/households/{household_id}/assessments",
    status_code=status.HTTP_201_CREATED,
    response_model=AssessmentOut,
    responses=problem_responses(403, 404),
)
async def assess_household(
    household_id: ResourceId, body: AssessmentIn, principal: CurrentPrincipal, session: SessionDep
) -> AssessmentOut:
    """Record a survey: income and deprivations, classified by the standard in force."""
    async with session.begin():
        household = await get_household(session, household_id)
        authorize_write(principal, SERVICE, household.commune_code)
        review = await session.get(Review, body.review_id) if body.review_id else None
        assessed = assess(household, review, body)
        await record_assessments(session, [assessed])
    return assessment_view(assessed.assessment)


@router.get(
    "/households/{household_id}/assessments",
    response_model=list[AssessmentOut],
    responses=problem_responses(403, 404),
)
async def list_assessments(
    household_id: ResourceId, principal: CurrentPrincipal, session: SessionDep
) -> list[AssessmentOut]:
    """A household's assessments, oldest first."""
    await _readable_household(session, principal, household_id)
    rows = (
        (
            await session.execute(
                select(Assessment)
                .where(Assessment.household_id == household_id)
                .order_by(Assessment.assessed_on, Assessment.created_at)
            )
        )
        .scalars()
        .all()
    )
    return [assessment_view(a) for a in rows]


@router.get("/standards")
async def list_standards(principal: CurrentPrincipal) -> list[dict[str, object]]:
    """The poverty standards with their lines, indicators and validity."""
    return [
        {
            "code": s.code,
            "title": s.title,
            "valid_from": s.valid_from,
            "valid_to": s.valid_to,
            "poverty_line": s.poverty_line,
            "near_poverty_line": s.near_poverty_line,
            "indicators": list(s.indicators),
            "deprivation_threshold": s.deprivation_threshold,
            "notes": list(s.notes),
        }
        for s in STANDARDS
    ]


@router.post("/classify", response_model=ClassificationOut)
async def classify_inputs(body: ClassifyIn, principal: CurrentPrincipal) -> ClassificationOut:
    """Classify inputs without recording anything (what-if for officers and auditors)."""
    result = classification(
        body.standard_code,
        body.on,
        body.area,
        body.income_per_person_month,
        body.deprived_indicators,
    )
    return ClassificationOut(
        standard_code=result.standard_code,
        poverty_class=str(result.poverty_class),
        deprivation_count=result.deprivation_count,
        deprived_indicators=list(result.deprived_indicators),
        reasons=list(result.reasons),
    )


@router.get(
    "/communes/{commune_code}/poverty-rates",
    response_model=PovertyRatesOut,
    responses=problem_responses(403),
)
async def poverty_rates(
    commune_code: Annotated[str, Path(pattern=COMMUNE_CODE_PATTERN)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> PovertyRatesOut:
    """Recognised poor and near-poor rates of a commune (from reclassification events)."""
    authorize_read(principal, SERVICE, commune_code)
    total = (
        await session.execute(
            select(func.count())
            .select_from(Household)
            .where(Household.commune_code == commune_code)
        )
    ).scalar_one()
    counts = dict(
        (
            await session.execute(
                select(CommuneClassCount.poverty_class, CommuneClassCount.households).where(
                    CommuneClassCount.commune_code == commune_code
                )
            )
        ).all()
    )
    poor, near_poor = counts.get("poor", 0), counts.get("near_poor", 0)
    return PovertyRatesOut(
        commune_code=commune_code,
        households=total,
        poor=poor,
        near_poor=near_poor,
        poor_rate_percent=round(100 * poor / total, 2) if total else 0.0,
        near_poor_rate_percent=round(100 * near_poor / total, 2) if total else 0.0,
    )
