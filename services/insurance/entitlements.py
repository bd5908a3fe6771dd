"""Entitlement rows: lookups, and the changes the commands, the households consumer and the
daily sweep share (so they sit below all three).

Each works inside the caller's transaction and appends the events it causes to ``out``
(payload, subject = person id); the caller puts them in the outbox in that transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.insurance.domain.entitlements import EntitlementView
from services.insurance.domain.policies import (
    BeneficiaryGroup,
    InsuranceRuleViolation,
    LocalRules,
    subsidy_percent,
)
from services.insurance.events import EntitlementEnded, EntitlementGranted
from services.insurance.models import Entitlement, InsuredPerson
from shared.events import EventPayload
from shared.problems import Conflict, NotFound, RuleViolation

Outbox = list[tuple[EventPayload, str]]


@contextmanager
def rule_problems(field: str | None = None) -> Iterator[None]:
    """A refusal of the insurance rules inside the block becomes a 422 naming ``field``."""
    try:
        yield
    except InsuranceRuleViolation as exc:
        raise RuleViolation(str(exc), field=field) from exc


async def get_person(session: AsyncSession, person_id: str) -> InsuredPerson:
    """The insured person ``person_id``; NotFound (404) if the service does not know them."""
    person = await session.get(InsuredPerson, person_id)
    if person is None:
        raise NotFound(f"person {person_id} is not known to the insurance service")
    return person


async def entitlements_of(session: AsyncSession, person_id: str) -> list[Entitlement]:
    """Every entitlement of the person, current or not, oldest first."""
    rows = await session.execute(
        select(Entitlement)
        .where(Entitlement.person_id == person_id)
        .order_by(Entitlement.starts_on, Entitlement.created_at)
    )
    return list(rows.scalars())


def entitlement_view(entitlement: Entitlement) -> EntitlementView:
    """The entitlement as the card rules see it."""
    return EntitlementView(
        group=BeneficiaryGroup(entitlement.group),
        subsidy_percent=entitlement.subsidy_percent,
        starts_on=entitlement.starts_on,
        ends_on=entitlement.ends_on,
        entitlement_id=entitlement.id,
    )


def current_clause(on: date) -> ColumnElement[bool]:
    """SQL condition: the entitlement covers ``on``."""
    return and_(
        Entitlement.starts_on <= on, or_(Entitlement.ends_on.is_(None), Entitlement.ends_on > on)
    )


@dataclass(frozen=True)
class Grant:
    """Why and from when a person is entitled in one group."""

    group: BeneficiaryGroup
    starts_on: date
    reason: str
    source: str  # household_event | operator
    ends_on: date | None = None
    caused_by_event_id: str | None = None
    recorded_by: str | None = None


def grant_entitlement(
    session: AsyncSession, person: InsuredPerson, grant: Grant, rules: LocalRules, out: Outbox
) -> Entitlement:
    """A new entitlement of ``person`` (subsidy share by the policy in force on its start)."""
    try:
        policy, percent = subsidy_percent(grant.group, person.commune_code, grant.starts_on, rules)
    except InsuranceRuleViolation as exc:
        raise RuleViolation(str(exc), field="body.starts_on") from exc
    entitlement = Entitlement(
        id=str(uuid.uuid4()),
        person_id=person.id,
        household_id=person.household_id,
        commune_code=person.commune_code,
        group=grant.group.value,
        source=grant.source,
        subsidy_percent=percent,
        policy_code=policy.code,
        starts_on=grant.starts_on,
        ends_on=grant.ends_on,
        reason=grant.reason,
        caused_by_event_id=grant.caused_by_event_id,
        recorded_by=grant.recorded_by,
    )
    session.add(entitlement)
    out.append(
        (
            EntitlementGranted(
                entitlement_id=entitlement.id,
                person_id=person.id,
                household_id=person.household_id,
                commune_code=person.commune_code,
                citizen_pseudonym=person.citizen_pseudonym,
                group=grant.group.value,
                subsidy_percent=percent,
                policy_code=policy.code,
                starts_on=grant.starts_on,
                ends_on=grant.ends_on,
                source=grant.source,
                reason=grant.reason,
                caused_by_event_id=grant.caused_by_event_id,
            ),
            person.id,
        )
    )
    return entitlement


def end_entitlement(
    entitlement: Entitlement,
    ends_on: date,
    reason: str,
    out: Outbox,
    *,
    caused_by_event_id: str | None = None,
) -> None:
    """Decide the end of ``entitlement`` (``ends_on`` is the first day not covered)."""
    if entitlement.end_reason is not None:
        raise Conflict(f"entitlement {entitlement.id} already ended: {entitlement.end_reason}")
    entitlement.ends_on = max(entitlement.starts_on, ends_on)
    entitlement.end_reason = reason
    entitlement.ended_by_event_id = caused_by_event_id
    out.append(
        (
            EntitlementEnded(
                entitlement_id=entitlement.id,
                person_id=entitlement.person_id,
                household_id=entitlement.household_id,
                commune_code=entitlement.commune_code,
                group=entitlement.group,
                ends_on=entitlement.ends_on,
                reason=reason,
                caused_by_event_id=caused_by_event_id,
            ),
            entitlement.person_id,
        )
    )
