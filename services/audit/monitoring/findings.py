"""Findings: each breach the views show, with its evidence, raised and cleared as events.

A breach is found by a *detector* over the read models (:mod:`.detectors`) and settled by
:class:`FindingBook` against ``view_findings``: one row per key ``kind:subject_id``, so
re-evaluating never duplicates a finding. A new breach publishes ``finding_raised``; a
finding whose breach no longer holds publishes ``finding_cleared``; an open finding still
in breach publishes nothing. Each event carries the key's next ``sequence``, so the echo of
a finding event read back from the ledger never undoes a newer state.

Two triggers: the ledger consumer re-evaluates the subjects an event touched, with the
as-of date and standards of the last evaluation (:func:`evaluate_touched`); and
:func:`evaluate_in` re-checks every subject on a given day (the background loop, the admin
endpoint, tests), which is what raises time-based findings (a card missing past the
service standard, a complaint past its deadline).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.events import FindingCleared, FindingRaised
from services.audit.ledger.store import LedgerEntry, LedgerStore
from services.audit.models import platform
from services.audit.monitoring.detectors import GROUPS, RAISED_ON_EVENT, Breach, Verdicts
from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.domain.subjects import Touched
from services.audit.monitoring.models import ViewEvaluation, ViewFinding
from services.audit.monitoring.projections import apply_entry
from shared.consumer import HandlerContext
from shared.db import transaction_state
from shared.events import EventPayload
from shared.observability import get_logger
from shared.outbox import append_events

log = get_logger(__name__)

Publish = Callable[[EventPayload, str], None]

CLEARED_BECAUSE = "the breach no longer holds on {as_of}"


class FindingBook:
    """Settles verdicts against the findings table; queues the events through ``publish``."""

    def __init__(self, session: AsyncSession, publish: Publish, as_of: date) -> None:
        self.session = session
        self.publish = publish
        self.as_of = as_of
        self.raised = 0
        self.cleared = 0

    async def settle(self, verdicts: Verdicts) -> None:
        """Raise each breach not open yet; clear each open finding judged no breach."""
        for key in sorted(verdicts):
            breach = verdicts[key]
            row = await self.session.get(ViewFinding, key)
            if breach is not None and (row is None or row.status != "open"):
                self._raise(breach, row)
            elif breach is None and row is not None and row.status == "open":
                self._clear(row)

    def _raise(self, breach: Breach, row: ViewFinding | None) -> None:
        if row is None:
            row = ViewFinding(key=breach.key, sequence=0)
            self.session.add(row)
        row.finding_id, row.kind, row.subject_id = str(uuid.uuid4()), breach.kind, breach.subject_id
        row.commune_code, row.status, row.summary = breach.commune_code, "open", breach.summary
        row.evidence, row.raised_on = list(breach.evidence), self.as_of
        row.cleared_on = row.cleared_reason = None
        row.sequence += 1
        self.raised += 1
        self.publish(
            FindingRaised(
                finding_id=row.finding_id,
                key=row.key,
                kind=row.kind,
                subject_id=row.subject_id,
                commune_code=row.commune_code,
                summary=row.summary,
                evidence=row.evidence,
                raised_on=row.raised_on,
                sequence=row.sequence,
            ),
            row.subject_id,
        )

    def _clear(self, row: ViewFinding) -> None:
        row.status, row.cleared_on = "cleared", self.as_of
        row.cleared_reason = CLEARED_BECAUSE.format(as_of=self.as_of.isoformat())
        row.sequence += 1
        self.cleared += 1
        self.publish(
            FindingCleared(
                finding_id=row.finding_id,
                key=row.key,
                kind=row.kind,
                subject_id=row.subject_id,
                commune_code=row.commune_code,
                cleared_on=self.as_of,
                reason=row.cleared_reason,
                sequence=row.sequence,
            ),
            row.subject_id,
        )


async def _open_subjects(session: AsyncSession, kinds: tuple[str, ...]) -> dict[str, str]:
    """key → subject of the open findings of ``kinds``."""
    rows = await session.execute(
        select(ViewFinding.key, ViewFinding.subject_id).where(
            ViewFinding.status == "open", ViewFinding.kind.in_(kinds)
        )
    )
    return {key: subject for key, subject in rows.all()}


async def judge_all(session: AsyncSession, as_of: date, policy: AuditPolicy) -> Verdicts:
    """A verdict for every subject of every kind, and for every open finding's key."""
    verdicts: Verdicts = {}
    for group in GROUPS:
        judged = await group.judge(session, None, as_of, policy)
        for key in await _open_subjects(session, group.kinds):
            judged.setdefault(key, None)  # its subject is gone from the read models
        verdicts.update(judged)
    return verdicts


async def evaluate_in(session: AsyncSession, as_of: date, policy: AuditPolicy) -> FindingBook:
    """Evaluate every subject on ``as_of`` inside the caller's transaction (events to the
    outbox); remember ``as_of`` and ``policy`` for the consumer's re-evaluations."""
    await LedgerStore(session)._lock_for_append()  # one writer of findings at a time
    pending: list[tuple[EventPayload, str]] = []
    book = FindingBook(session, lambda payload, subject: pending.append((payload, subject)), as_of)
    await book.settle(await judge_all(session, as_of, policy))
    state = await session.get(ViewEvaluation, 1)
    if state is None:
        state = ViewEvaluation(id=1)
        session.add(state)
        transaction_state(session, _EVALUATION).pop("absent", None)
    state.as_of, state.policy = as_of, policy_json(policy)
    await append_events(session, platform, pending)
    return book


async def evaluate_touched(
    session: AsyncSession, touched: Touched, publish: Publish, event_day: date
) -> None:
    """Re-evaluate the subjects one event touched, on the last evaluation's day and standards.

    An event raises only breaches it makes certain (:data:`RAISED_ON_EVENT`); a breach of
    time (a card missing past the standard, a case past its deadline) is only *cleared* here
    and raised by :func:`evaluate_in` — events replayed in bulk (an import, a late consumer)
    would otherwise show a person entitled before the card that follows in the next event.
    Before any evaluation has run, only the kinds that do not depend on the day are judged
    (their findings dated ``event_day``, the day the event was published).
    """
    if not touched:
        return
    state = await _last_evaluation(session)
    policy = policy_from_json(state.policy) if state is not None else AuditPolicy()
    book = FindingBook(session, publish, state.as_of if state is not None else event_day)
    for group in GROUPS:
        ids = group.subjects(touched)
        if ids and (state is not None or not group.timed):
            verdicts = await group.judge(session, ids, book.as_of, policy)
            await book.settle(
                {
                    key: breach
                    for key, breach in verdicts.items()
                    if breach is None or breach.kind in RAISED_ON_EVENT
                }
            )


_EVALUATION = "ansinh.audit.evaluation"


async def _last_evaluation(session: AsyncSession) -> ViewEvaluation | None:
    """The last evaluation's day and policy. Found, the session's identity map keeps it;
    absent, that is remembered for the transaction (every event of a batch asks)."""
    remembered = transaction_state(session, _EVALUATION)
    if remembered.get("absent"):
        return None
    state = await session.get(ViewEvaluation, 1)
    if state is None:
        remembered["absent"] = True
    return state


def policy_json(policy: AuditPolicy) -> dict[str, object]:
    """The policy as stored (dates as ISO strings)."""
    values = asdict(policy)
    values["holidays"] = sorted(d.isoformat() for d in policy.holidays)
    values["clock"] = policy.clock.isoformat() if policy.clock else None
    return values


def policy_from_json(values: dict[str, object]) -> AuditPolicy:
    fields = dict(values)
    holidays = fields.pop("holidays", None) or []
    clock = fields.pop("clock", None)
    known = {k: v for k, v in fields.items() if k in AuditPolicy.__dataclass_fields__}
    return AuditPolicy(
        **known,  # type: ignore[arg-type]
        holidays=frozenset(date.fromisoformat(str(d)) for d in holidays),  # type: ignore[attr-defined]
        clock=date.fromisoformat(str(clock)) if clock else None,
    )


async def project_views(ctx: HandlerContext, entry: LedgerEntry) -> None:
    """The ledger consumer's projection: fold the entry into the read models, then settle the
    findings of the subjects it touched (their events join the entry's transaction).

    A failure here is logged and the views skip the entry — it never costs the ledger the
    event; POST /views/rebuild replays it once the cause is fixed. In a batch applied
    together (``ctx.batched``) it needs no savepoint of its own: a failure undoes the batch,
    which the consumer then applies one event at a time, where this one is contained.
    """
    pending: list[tuple[EventPayload, str]] = []

    async def project() -> None:
        touched = await apply_entry(ctx.session, entry)
        await evaluate_touched(
            ctx.session, touched, lambda p, s: pending.append((p, s)), entry.occurred_at.date()
        )

    if ctx.batched:
        await project()
    else:
        try:
            async with ctx.session.begin_nested():
                await project()
        except Exception:
            log.exception("views.projection_failed", event_id=entry.event_id, type=entry.ce_type)
            return
    for payload, subject in pending:
        ctx.publish(payload, subject)
