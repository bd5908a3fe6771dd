"""Read side of the insurance service: a person with entitlements and cards, the policies
and the locality's rules. The card worklists are in :mod:`services.insurance.cards.queries`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.insurance.cards.queries import card_out, shows_card_numbers
from services.insurance.domain.entitlements import is_current
from services.insurance.domain.policies import POLICIES, LocalRules
from services.insurance.entitlements import entitlements_of, get_person
from services.insurance.models import Card, Entitlement, InsuredHousehold
from services.insurance.schemas import EntitlementOut, LocalRulesOut, PersonOut, PolicyOut
from services.insurance.settings import SERVICE
from shared.auth import Principal, authorize_read


def entitlement_out(entitlement: Entitlement, on: date) -> EntitlementOut:
    """The response body of ``entitlement``, ``current`` as of ``on``."""
    return EntitlementOut(
        entitlement_id=entitlement.id,
        current=is_current(entitlement.starts_on, entitlement.ends_on, on),
        **{
            name: getattr(entitlement, name)
            for name in EntitlementOut.model_fields
            if name not in ("entitlement_id", "current")
        },
    )


async def person(
    session: AsyncSession, principal: Principal, person_id: str, on: date
) -> PersonOut:
    """A person's entitlements (current or not on ``on``) and cards, pseudonymised."""
    insured = await get_person(session, person_id)
    authorize_read(principal, SERVICE, insured.commune_code)
    household = await session.get(InsuredHousehold, insured.household_id)
    cards = await session.execute(
        select(Card).where(Card.person_id == person_id).order_by(Card.issued_on, Card.created_at)
    )
    return PersonOut(
        person_id=insured.id,
        household_id=insured.household_id,
        commune_code=insured.commune_code,
        citizen_pseudonym=insured.citizen_pseudonym,
        sex=insured.sex,
        date_of_birth=insured.date_of_birth,
        ethnic_minority=insured.ethnic_minority,
        household_class=household.poverty_class if household else None,
        entitlements=[entitlement_out(e, on) for e in await entitlements_of(session, person_id)],
        cards=[card_out(c, show_number=shows_card_numbers(principal)) for c in cards.scalars()],
    )


def policies() -> list[PolicyOut]:
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


def local_rules(rules: LocalRules) -> LocalRulesOut:
    """What this locality configured: poor communes, shares, grace, validity, standard."""
    return LocalRulesOut(**{**vars(rules), "poor_communes": sorted(rules.poor_communes)})
