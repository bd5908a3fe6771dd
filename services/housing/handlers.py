"""What the housing service does with households events: it keeps the facts eligibility needs.

Its own tolerant readings of the events (only the fields it needs), typed as the published
contracts; the households service's classes are never imported.

| event (ansinh.households.v1) | effect                                                     |
| ---------------------------- | ---------------------------------------------------------- |
| household_registered         | commune, area, independent-since year; initial class       |
| household_reclassified       | a class change, kept with its date and review              |
| review_recognised            | the review's class changes start to count                  |
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.models import ClassChange, KnownHousehold, RecognisedReview
from shared.consumer import HandlerContext, On
from shared.prefetch import Prefetch, lookup

HOUSEHOLDS = "vn.ansinh.households"
PovertyClassName = Literal["poor", "near_poor", "middle_income", "not_poor", "unclassified"]


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class HouseholdRegistered(_Tolerant):
    household_id: str
    commune_code: str
    area: Literal["rural", "urban"]
    registered_on: date
    poverty_class: PovertyClassName = "unclassified"
    independent_since_year: int | None = None


class HouseholdReclassified(_Tolerant):
    household_id: str
    commune_code: str
    to_class: PovertyClassName
    effective_date: date
    basis: Literal[
        "periodic_review", "regular_review", "voluntary_escape", "complaint", "initial_registration"
    ]
    review_id: str | None = None


class ReviewRecognised(_Tolerant):
    review_id: str
    commune_code: str
    year: int
    recognised_on: date


async def _household(session: AsyncSession, household_id: str, commune: str) -> KnownHousehold:
    # A class change may be read before the registration when replaying; keep both.
    household = await lookup(session, KnownHousehold, household_id)
    if household is None:
        household = KnownHousehold(id=household_id, commune_code=commune)
        session.add(household)
    return household


async def record_registration(ctx: HandlerContext, event: HouseholdRegistered) -> None:
    household = await _household(ctx.session, event.household_id, event.commune_code)
    household.commune_code = event.commune_code
    household.area = event.area
    household.registered_on = event.registered_on
    household.independent_since_year = event.independent_since_year
    if event.poverty_class != "unclassified":
        # Registered with a class (bulk import of an existing list): that is its listing.
        household.current_class = event.poverty_class
        ctx.session.add(
            ClassChange(
                household_id=event.household_id,
                to_class=event.poverty_class,
                effective_date=event.registered_on,
                review_id=None,
                basis="initial_registration",
                event_id=ctx.event.id,
            )
        )
    elif household.current_class is None:
        household.current_class = "unclassified"


async def record_reclassification(ctx: HandlerContext, event: HouseholdReclassified) -> None:
    household = await _household(ctx.session, event.household_id, event.commune_code)
    household.current_class = event.to_class
    ctx.session.add(
        ClassChange(
            household_id=event.household_id,
            to_class=event.to_class,
            effective_date=event.effective_date,
            review_id=event.review_id,
            basis=event.basis,
            event_id=ctx.event.id,
        )
    )


async def record_recognition(ctx: HandlerContext, event: ReviewRecognised) -> None:
    if await lookup(ctx.session, RecognisedReview, event.review_id) is None:
        ctx.session.add(
            RecognisedReview(
                review_id=event.review_id,
                commune_code=event.commune_code,
                year=event.year,
                recognised_on=event.recognised_on,
            )
        )


HANDLERS = [
    On(f"{HOUSEHOLDS}.household_registered.v1", HouseholdRegistered, record_registration),
    On(f"{HOUSEHOLDS}.household_reclassified.v1", HouseholdReclassified, record_reclassification),
    On(f"{HOUSEHOLDS}.review_recognised.v1", ReviewRecognised, record_recognition),
]

#: Rows the handlers look up by key, read once per batch.
PREFETCH = [Prefetch(KnownHousehold, "household_id"), Prefetch(RecognisedReview, "review_id")]
