"""The entitlement write path: record and end an operator's entitlement, run the sweep.

Each command opens the transaction, authorises (shared.auth), applies the rules, changes
rows and appends the events it causes to the outbox in that same transaction. The card
commands are in :mod:`services.insurance.cards.commands`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.insurance.cards.lifecycle import SweepResult, follow_entitlements, sweep
from services.insurance.domain.entitlements import local_date
from services.insurance.domain.policies import BeneficiaryGroup, LocalRules
from services.insurance.entitlements import (
    Grant,
    Outbox,
    end_entitlement,
    entitlements_of,
    get_person,
    grant_entitlement,
)
from services.insurance.models import Entitlement, platform
from services.insurance.schemas import EntitlementEndIn, EntitlementIn
from services.insurance.settings import SERVICE
from shared.auth import Principal, authorize_write
from shared.observability import get_logger
from shared.outbox import append_events
from shared.problems import Conflict, NotFound, RuleViolation
from shared.service import ServiceRuntime

log = get_logger(__name__)


async def record_entitlement(
    session: AsyncSession,
    principal: Principal,
    person_id: str,
    body: EntitlementIn,
    rules: LocalRules,
) -> Entitlement:
    """The entitlement an operator records from a decision (allowance, area, merit)."""
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
    return entitlement


async def end_recorded_entitlement(
    session: AsyncSession,
    principal: Principal,
    entitlement_id: str,
    body: EntitlementEndIn,
    today: date,
) -> Entitlement:
    """The operator-recorded entitlement, ended; cards left without entitlement are revoked."""
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
        await follow_entitlements(session, [entitlement.person_id], today, out)
        await append_events(session, platform, out)
    return entitlement


async def run_sweep(session: AsyncSession, on: date) -> SweepResult:
    """What time changes by ``on`` (6th birthdays, graces run out, cards expired), applied."""
    async with session.begin():
        out: Outbox = []
        result = await sweep(session, on, out)
        await append_events(session, platform, out)
    return result


async def sweep_periodically(runtime: ServiceRuntime) -> None:
    """Run the sweep for today now and every ``sweep_interval_seconds`` until cancelled."""
    interval = getattr(runtime.settings, "sweep_interval_seconds", 3600.0)
    while True:
        try:
            async with runtime.sessions() as session:
                result = await run_sweep(session, local_date(datetime.now(UTC)))
            log.info("insurance.sweep", **{k: str(v) for k, v in vars(result).items()})
        except Exception as exc:  # a database hiccup: try again at the next interval
            log.warning("insurance.sweep_failed", error=repr(exc))
        await asyncio.sleep(interval)
