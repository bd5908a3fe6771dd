"""Platform administration endpoints every service has (admin role only).

``POST /admin/outbox/replay`` queues the service's outbox again — all of it, or the events
recorded since a given time — and wakes the relay, so that consumers that missed events
(the embedded broker forgot everything on restart, a partner's topic was reset) catch up.
Consumers' inboxes skip events they already applied, so a replay never applies anything
twice. ``ansinh replay`` calls it on every running service and follows the backlog.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from shared import metrics
from shared.auth import Principal, require_roles
from shared.observability import get_logger
from shared.outbox import mark_all_unsent, outbox_backlog
from shared.problems import RuleViolation, problem_responses
from shared.runtime import get_runtime

log = get_logger(__name__)

AdminPrincipal = Annotated[Principal, Depends(require_roles())]  # admins only


class OutboxReplay(BaseModel):
    """What a replay queued; the relay publishes it in outbox order right away."""

    service: str
    since: datetime | None = Field(
        description="events recorded at or after this time (whole seconds, UTC); null = all"
    )
    events: int = Field(description="outbox events queued to be published again")
    backlog: int = Field(description="outbox events now waiting for the relay (these included)")


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.post(
        "/outbox/replay",
        status_code=202,
        response_model=OutboxReplay,
        responses=problem_responses(403, 422),
        summary="Publish the outbox again (admin)",
    )
    async def replay_outbox(
        request: Request,
        principal: AdminPrincipal,
        since: Annotated[
            AwareDatetime | None,
            Query(description="only events recorded since then (RFC 3339 with offset)"),
        ] = None,
    ) -> OutboxReplay:
        """Queue the outbox again for consumers that missed events; inboxes drop repeats."""
        runtime = get_runtime(request)
        service = runtime.definition.name
        try:
            moment = since.astimezone(UTC) if since is not None else None
        except OverflowError as exc:
            raise RuleViolation("since is out of range", field="query.since") from exc
        events = await mark_all_unsent(runtime.engine, runtime.definition.tables, since=moment)
        async with runtime.engine.connect() as conn:
            backlog = await outbox_backlog(conn, runtime.definition.tables)
        # Now, not at the relay's next batch: `ansinh replay` follows this gauge to zero.
        metrics.OUTBOX_BACKLOG.labels(service=service).set(backlog)
        if runtime.relay is not None:
            runtime.relay.wake()
        log.info(
            "outbox.replay",
            events=events,
            backlog=backlog,
            since=moment.isoformat() if moment else None,
            requested_by=principal.subject,
        )
        return OutboxReplay(service=service, since=moment, events=events, backlog=backlog)

    return router
