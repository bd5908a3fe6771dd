"""Events the insurance service publishes on ``ansinh.insurance.v1`` (subject: the person id).

No personal data: persons appear as opaque UUIDs and keyed citizen pseudonyms; card numbers
are left out because their last 10 digits are the person's social insurance number (cards
are named by ``card_id``, with the object code and benefit level they carry).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.events import EventPayload, domain_event

SERVICE = "insurance"

GroupName = Literal[
    "poor_household",
    "near_poor_household",
    "child_under_6",
    "social_protection_allowance",
    "ethnic_minority_disadvantaged_area",
    "meritorious_service",
]
CardSource = Literal["local", "partner"]


@domain_event(SERVICE, "entitlement_granted")
class EntitlementGranted(EventPayload):
    """A person became entitled to a state-paid health-insurance card, and why."""

    entitlement_id: str
    person_id: str
    household_id: str | None
    commune_code: str
    citizen_pseudonym: str | None
    group: GroupName
    subsidy_percent: int = Field(ge=0, le=100, description="state share of the premium")
    policy_code: str = Field(description="the decree in force on starts_on, e.g. ND-146-2018")
    starts_on: date
    ends_on: date | None = Field(
        description="first day not covered, when known at grant (a child's 6th birthday)"
    )
    source: Literal["household_event", "operator"]
    reason: str
    caused_by_event_id: str | None = Field(
        description="the consumed event that caused it; null when an operator recorded it"
    )


@domain_event(SERVICE, "entitlement_ended")
class EntitlementEnded(EventPayload):
    """An entitlement ends on ``ends_on`` (first day not covered; may lie ahead: a grace)."""

    entitlement_id: str
    person_id: str
    household_id: str | None
    commune_code: str
    group: GroupName
    ends_on: date
    reason: str
    caused_by_event_id: str | None = Field(
        description="the consumed event that ended it; null for an operator or the 6th birthday"
    )


@domain_event(SERVICE, "card_issued")
class CardIssued(EventPayload):
    """A health-insurance card was issued (recorded by an operator or confirmed by VSS)."""

    card_id: str
    person_id: str
    commune_code: str
    citizen_pseudonym: str | None
    object_code: str
    benefit_level: int
    valid_from: date
    valid_to: date
    issued_on: date
    source: CardSource
    entitlement_id: str | None = Field(description="the entitlement it was issued under")
    entitled_since: date | None = Field(
        description="since when the person waited for a card (service-standard clock)"
    )
    duplicate_of_card_id: str | None = Field(
        description="set when VSS reports a card while the person already held another one"
    )


@domain_event(SERVICE, "card_renewed")
class CardRenewed(EventPayload):
    """A card was replaced by a new one (``card_id``); the old one is no longer active."""

    card_id: str
    renewed_card_id: str
    person_id: str
    commune_code: str
    object_code: str
    benefit_level: int
    valid_from: date
    valid_to: date
    renewed_on: date
    entitlement_id: str | None


@domain_event(SERVICE, "card_expired")
class CardExpired(EventPayload):
    """A card's validity ran out."""

    card_id: str
    person_id: str
    commune_code: str
    valid_to: date
    expired_on: date


@domain_event(SERVICE, "card_revoked")
class CardRevoked(EventPayload):
    """A card was withdrawn: its holder's entitlement ended, or it duplicated another card."""

    card_id: str
    person_id: str
    commune_code: str
    revoked_on: date
    reason: str
    entitlement_id: str | None = Field(description="the ended entitlement, if that is why")
    caused_by_event_id: str | None = Field(
        description="the consumed event behind the revocation, if any"
    )
