"""What the audit service does with the events it consumes: all of them, from every topic.

Each event, in ONE transaction with its inbox row: appended to the ledger (the trail),
then handed to every projection in :data:`PROJECTIONS` (the read models of the monitoring
views). A projection is ``async def project(ctx, entry) -> None``: ``entry`` is the ledger
leaf just written (its index is the evidence a finding cites), ``ctx.session`` the open
transaction and ``ctx.publish`` queues follow-up events (findings) in it. Because a
projection sees only ledger entries, replaying the ledger through it rebuilds its view.

Add views as projections, never as ``On(<type>, …)`` subscriptions in :data:`HANDLERS`:
an exact subscription wins over the catch-all, so its events would miss the ledger.
A redelivered event (already in the inbox, or already a leaf) reaches no projection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict

from services.audit.ledger.commands import append_to_ledger
from services.audit.ledger.store import LedgerEntry
from services.audit.monitoring.findings import project_views
from shared.consumer import ANY_EVENT_TYPE, HandlerContext, On

Projection = Callable[[HandlerContext, LedgerEntry], Awaitable[None]]

#: Read models fed by every ledger entry, in this order (monitoring views add theirs here).
PROJECTIONS: list[Projection] = [project_views]


class AnyEvent(BaseModel):
    """The data of any event: the ledger records it whole, whatever its type."""

    model_config = ConfigDict(extra="allow")


async def record_event(ctx: HandlerContext, _data: AnyEvent) -> None:
    """Append the event to the ledger, then let each projection see the new entry."""
    entry = await append_to_ledger(ctx.session, ctx.event, batched=ctx.batched)
    if entry is None:  # already a leaf: a redelivery
        return
    for project in PROJECTIONS:
        await project(ctx, entry)


HANDLERS = [On(ANY_EVENT_TYPE, AnyEvent, record_event)]
