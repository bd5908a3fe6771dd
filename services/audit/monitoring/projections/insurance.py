"""Insurance events into the read models: entitlements and cards."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.audit.monitoring import consumed_events as ev
from services.audit.monitoring.models import (
    ViewCard,
    ViewEntitlement,
)
from services.audit.monitoring.projections.entry import Apply, Projected, row_for, with_event


async def _granted(e: Projected, d: ev.EntitlementGranted) -> None:
    row = await row_for(
        e.session, ViewEntitlement, d.entitlement_id, entitlement_id=d.entitlement_id
    )
    row.person_id, row.household_id, row.commune_code = d.person_id, d.household_id, d.commune_code
    row.group, row.starts_on = d.group, d.starts_on
    if row.ends_on is None:  # an end already recorded is not undone by a late grant
        row.ends_on = d.ends_on
    row.event_ids = with_event(row.event_ids, e.event_id)
    e.touched.persons.add(d.person_id)


async def _ended(e: Projected, d: ev.EntitlementEnded) -> None:
    row = await row_for(
        e.session,
        ViewEntitlement,
        d.entitlement_id,
        entitlement_id=d.entitlement_id,
        starts_on=d.ends_on,
    )
    row.person_id, row.household_id, row.commune_code = d.person_id, d.household_id, d.commune_code
    row.group, row.ends_on = d.group, d.ends_on
    row.event_ids = with_event(row.event_ids, e.event_id)
    e.touched.persons.add(d.person_id)


async def _card(
    e: Projected, card_id: str, person_id: str, commune: str, **values: Any
) -> ViewCard:
    row = await row_for(e.session, ViewCard, card_id, card_id=card_id, renewal=False)
    row.person_id, row.commune_code = person_id, commune
    for name, value in values.items():
        setattr(row, name, value)
    row.event_ids = with_event(row.event_ids, e.event_id)
    e.touched.persons.add(person_id)
    return row


async def _card_issued(e: Projected, d: ev.CardIssued) -> None:
    await _card(
        e,
        d.card_id,
        d.person_id,
        d.commune_code,
        source=d.source,
        issued_on=d.issued_on,
        valid_to=d.valid_to,
    )


async def _card_renewed(e: Projected, d: ev.CardRenewed) -> None:
    # The old card stops being active when the renewal is recorded (the event says so).
    await _close_card(e, d.renewed_card_id, d.person_id, d.commune_code, d.renewed_on, "renewed")
    await _card(
        e,
        d.card_id,
        d.person_id,
        d.commune_code,
        source="renewal",
        issued_on=d.renewed_on,
        valid_to=d.valid_to,
        renewal=True,
    )


async def _close_card(
    e: Projected, card_id: str, person_id: str, commune: str, on: Any, reason: str
) -> None:
    row = await e.session.get(ViewCard, card_id)
    if row is None:  # closing a card the audit never saw issued: nothing to measure
        e.touched.persons.add(person_id)
        return
    if row.closed_on is None or on < row.closed_on:
        row.closed_on, row.close_reason = on, reason
    row.event_ids = with_event(row.event_ids, e.event_id)
    e.touched.persons.add(person_id)


async def _card_expired(e: Projected, d: ev.CardExpired) -> None:
    await _close_card(e, d.card_id, d.person_id, d.commune_code, d.expired_on, "expired")


async def _card_revoked(e: Projected, d: ev.CardRevoked) -> None:
    await _close_card(e, d.card_id, d.person_id, d.commune_code, d.revoked_on, "revoked")


APPLY: dict[type[BaseModel], Apply] = {
    ev.EntitlementGranted: _granted,
    ev.EntitlementEnded: _ended,
    ev.CardIssued: _card_issued,
    ev.CardRenewed: _card_renewed,
    ev.CardExpired: _card_expired,
    ev.CardRevoked: _card_revoked,
}
