"""Insurance API: persons' entitlements, cards, the worklists, policies and the daily sweep."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.insurance.cards import issue_card, renew_card, revoke_card
from services.insurance.domain import (
    POLICIES,
    BeneficiaryGroup,
    InsuranceRuleViolation,
    LocalRules,
    local_date,
)
from services.insurance.lifecycle import follow_entitlements, sweep
from services.insurance.models import Card, Entitlement, InsuredHousehold, platform
from services.insurance.operations import (
    Grant,
    Outbox,
    end_entitlement,
    entitlements_of,
    get_card,
    get_person,
    grant_entitlement,
)
from services.insurance.queries import (
    card_out,
    duplicates,
    entitlement_out,
    to_revoke,
    uncarded,
)
from services.insurance.schemas import (
    CardIn,
    CardOut,
    CardRenewalIn,
    CardRevocationIn,
    DuplicateOut,
    EntitlementEndIn,
    EntitlementIn,
    EntitlementOut,
    LocalRulesOut,
    PersonOut,
    PolicyOut,
    SweepOut,
    ToRevokeOut,
    UncardedPage,
)
from shared.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    authorize_read,
    authorize_write,
    readable_communes,
    require_roles,
)
from shared.outbox import append_events
from shared.problems import Conflict, NotFound, RuleViolation
from shared.service import SessionDep

SERVICE = "insurance"
router = APIRouter(tags=["insurance"])
CommuneQuery = Annotated[str | None, Query(pattern=r"^[0-9]{5}$")]
OnQuery = Annotated[date | None, Query(description="the day to compute for; default today")]


def local_rules(request: Request) -> LocalRules:
    rules: LocalRules = request.app.state.insurance_rules
    return rules


Rules = Annotated[LocalRules, Depends(local_rules)]


def today() -> date:
    return local_date(datetime.now(UTC))


def shows_card_numbers(principal: Principal) -> bool:
    """Card numbers end in the SI number: only those who act on cards see them."""
    return principal.role in (Role.OPERATOR, Role.ADMIN, Role.SERVICE)


@contextmanager
def rule_problems(field: str | None = None) -> Iterator[None]:
    try:
        yield
    except InsuranceRuleViolation as exc:
        raise RuleViolation(str(exc), field=field) from exc


@router.get("/policies", response_model=list[PolicyOut])
async def list_policies(principal: CurrentPrincipal) -> list[PolicyOut]:
    """The health-insurance policies (decrees) with their groups, shares and validity."""
    return [
        PolicyOut(
            code=p.code,
            title=p.title,
            valid_from=p.valid_from,
            valid_to=p.valid_to,
            groups={g.value: vars(t) for g, t in p.terms.items()},
            near_poor_minimum_percent=p.near_poor_minimum_percent,
            near_poor_in_poor_commune_percent=p.near_poor_in_poor_commune_percent,
            notes=list(p.notes),
        )
        for p in POLICIES
    ]


@router.get("/rules", response_model=LocalRulesOut)
async def read_local_rules(principal: CurrentPrincipal, rules: Rules) -> LocalRulesOut:
    """What this locality configured: poor communes, shares, grace, validity, standard."""
    return LocalRulesOut(**{**vars(rules), "poor_communes": sorted(rules.poor_communes)})


@router.get("/persons/{person_id}", response_model=PersonOut)
async def read_person(
    person_id: str, principal: CurrentPrincipal, session: SessionDep, on: OnQuery = None
) -> PersonOut:
    """A person's entitlements (current or not on ``on``) and cards, pseudonymised."""
    person = await get_person(session, person_id)
    authorize_read(principal, SERVICE, person.commune_code)
    day = on or today()
    household = await session.get(InsuredHousehold, person.household_id)
    cards = await session.execute(
        select(Card).where(Card.person_id == person_id).order_by(Card.issued_on, Card.created_at)
    )
    return PersonOut(
        person_id=person.id,
        household_id=person.household_id,
        commune_code=person.commune_code,
        citizen_pseudonym=person.citizen_pseudonym,
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        ethnic_minority=person.ethnic_minority,
        household_class=household.poverty_class if household else None,
        entitlements=[entitlement_out(e, day) for e in await entitlements_of(session, person_id)],
        cards=[card_out(c, show_number=shows_card_numbers(principal)) for c in cards.scalars()],
    )


@router.post(
    "/persons/{person_id}/entitlements",
    status_code=status.HTTP_201_CREATED,
    response_model=EntitlementOut,
)
async def record_entitlement(
    person_id: str,
    body: EntitlementIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: Rules,
) -> EntitlementOut:
    """Record an entitlement an operator knows from a decision (allowance, area, merit)."""
    async with session.begin():
        person = await get_person(session, person_id)
        authorize_write(principal, SERVICE, person.commune_code)
        group = BeneficiaryGroup(body.group)
        if group is BeneficiaryGroup.ETHNIC_MINORITY_DISADVANTAGED_AREA and not (
            person.ethnic_minority
        ):
            raise RuleViolation(
                "the person is not recorded as an ethnic minority", field="body.group"
            )
        for held in await entitlements_of(session, person_id):
            if held.group == group and held.end_reason is None and held.ends_on is None:
                raise Conflict(f"person already holds open entitlement {held.id} in {group}")
        out: Outbox = []
        grant = Grant(
            group=group,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            reason=body.reason,
            source="operator",
            recorded_by=principal.subject,
        )
        entitlement = grant_entitlement(session, person, grant, rules, out)
        await append_events(session, platform, out)
    return entitlement_out(entitlement, today())


@router.post("/entitlements/{entitlement_id}/end", response_model=EntitlementOut)
async def end_recorded_entitlement(
    entitlement_id: str, body: EntitlementEndIn, principal: CurrentPrincipal, session: SessionDep
) -> EntitlementOut:
    """End an operator-recorded entitlement; cards left without entitlement are revoked."""
    async with session.begin():
        entitlement = await session.get(Entitlement, entitlement_id)
        if entitlement is None:
            raise NotFound(f"entitlement {entitlement_id} does not exist")
        authorize_write(principal, SERVICE, entitlement.commune_code)
        if entitlement.source != "operator":
            raise RuleViolation(
                "an entitlement derived from the household registry ends only by "
                "reclassification or age"
            )
        if body.ends_on < entitlement.starts_on:
            raise RuleViolation("ends_on is before the entitlement starts", field="body.ends_on")
        out: Outbox = []
        end_entitlement(entitlement, body.ends_on, body.reason, out)
        await session.flush()
        await follow_entitlements(session, [entitlement.person_id], today(), out)
        await append_events(session, platform, out)
    return entitlement_out(entitlement, today())


@router.post("/cards", status_code=status.HTTP_201_CREATED, response_model=CardOut)
async def record_card_issue(
    body: CardIn, principal: CurrentPrincipal, session: SessionDep, rules: Rules
) -> CardOut:
    """Issue a card to an entitled person; 409 if they already hold an active one."""
    try:
        async with session.begin():
            person = await get_person(session, body.person_id)
            authorize_write(principal, SERVICE, person.commune_code)
            out: Outbox = []
            with rule_problems("body.valid_from"):
                card = await issue_card(
                    session,
                    person,
                    social_insurance_number=body.social_insurance_number,
                    valid_from=body.valid_from or today(),
                    issued_on=body.issued_on or today(),
                    rules=rules,
                    out=out,
                )
            await append_events(session, platform, out)
    except IntegrityError as exc:  # a concurrent request won: the database keeps one active card
        raise Conflict(
            f"person {body.person_id} already holds an active card, or the social insurance "
            "number belongs to another person"
        ) from exc
    return card_out(card, show_number=True)


@router.get("/cards/{card_id}", response_model=CardOut)
async def read_card(card_id: str, principal: CurrentPrincipal, session: SessionDep) -> CardOut:
    """One card."""
    card = await get_card(session, card_id)
    authorize_read(principal, SERVICE, card.commune_code)
    return card_out(card, show_number=shows_card_numbers(principal))


@router.post(
    "/cards/{card_id}/renewal", status_code=status.HTTP_201_CREATED, response_model=CardOut
)
async def renew(
    card_id: str,
    body: CardRenewalIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: Rules,
) -> CardOut:
    """Replace an active card by a new one under the holder's best current entitlement."""
    async with session.begin():
        card = await get_card(session, card_id)
        authorize_write(principal, SERVICE, card.commune_code)
        out: Outbox = []
        with rule_problems("body.valid_from"):
            new = await renew_card(
                session,
                card,
                valid_from=body.valid_from or today(),
                issued_on=today(),
                rules=rules,
                out=out,
            )
        await append_events(session, platform, out)
    return card_out(new, show_number=True)


@router.post("/cards/{card_id}/revocation", response_model=CardOut)
async def revoke(
    card_id: str, body: CardRevocationIn, principal: CurrentPrincipal, session: SessionDep
) -> CardOut:
    """Withdraw an active or duplicate card (excess or duplicate found on a worklist)."""
    async with session.begin():
        card = await get_card(session, card_id)
        authorize_write(principal, SERVICE, card.commune_code)
        out: Outbox = []
        revoke_card(card, body.revoked_on or today(), body.reason, out)
        await append_events(session, platform, out)
    return card_out(card, show_number=True)


@router.get("/worklists/uncarded", response_model=UncardedPage)
async def uncarded_worklist(
    principal: CurrentPrincipal,
    session: SessionDep,
    rules: Rules,
    commune_code: CommuneQuery = None,
    on: OnQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> UncardedPage:
    """Entitled persons without an active card, longest wait first, overdue flagged."""
    authorize_read(principal, SERVICE, commune_code)
    day = on or today()
    with rule_problems("query.on"):
        items = await uncarded(
            session,
            day,
            rules,
            communes=readable_communes(principal),
            commune_code=commune_code,
        )
    return UncardedPage(
        on=day,
        service_standard_days=rules.service_standard_days,
        total=len(items),
        overdue=sum(1 for item in items if item.overdue),
        items=items[:limit],
    )


@router.get("/worklists/to-revoke", response_model=list[ToRevokeOut])
async def to_revoke_worklist(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    on: OnQuery = None,
) -> list[ToRevokeOut]:
    """Active cards whose holder has no current entitlement (to revoke)."""
    authorize_read(principal, SERVICE, commune_code)
    return await to_revoke(
        session,
        on or today(),
        show_numbers=shows_card_numbers(principal),
        communes=readable_communes(principal),
        commune_code=commune_code,
    )


@router.get("/worklists/duplicates", response_model=list[DuplicateOut])
async def duplicates_worklist(
    principal: CurrentPrincipal, session: SessionDep, commune_code: CommuneQuery = None
) -> list[DuplicateOut]:
    """Persons holding more than one card reported active (one came from a partner import)."""
    authorize_read(principal, SERVICE, commune_code)
    return await duplicates(
        session,
        show_numbers=shows_card_numbers(principal),
        communes=readable_communes(principal),
        commune_code=commune_code,
    )


@router.post("/sweeps", response_model=SweepOut)
async def run_sweep(
    principal: Annotated[Principal, Depends(require_roles())],
    session: SessionDep,
    on: OnQuery = None,
) -> SweepOut:
    """Apply what time changes by ``on`` (6th birthdays, graces run out, cards expired).

    The service runs this itself periodically; admins may run it for a given day.
    """
    async with session.begin():
        out: Outbox = []
        result = await sweep(session, on or today(), out)
        await append_events(session, platform, out)
    return SweepOut(**vars(result))
