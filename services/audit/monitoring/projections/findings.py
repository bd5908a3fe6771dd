"""The audit's own finding events, read back from the ledger, into ``view_findings``
(a newer sequence wins, so an echo never undoes a later state)."""

from __future__ import annotations

from pydantic import BaseModel

from services.audit.monitoring import consumed_events as ev
from services.audit.monitoring.models import ViewFinding
from services.audit.monitoring.projections.entry import Apply, Projected, row_for


async def _finding_raised(e: Projected, d: ev.FindingRaisedIn) -> None:
    row = await row_for(e.session, ViewFinding, d.key, key=d.key, sequence=0)
    if row.sequence >= d.sequence:  # the evaluator wrote it already (or a newer state)
        return
    row.finding_id, row.kind, row.subject_id, row.commune_code = (
        d.finding_id,
        d.kind,
        d.subject_id,
        d.commune_code,
    )
    row.status, row.summary, row.evidence = "open", d.summary, list(d.evidence)
    row.raised_on, row.cleared_on, row.cleared_reason = d.raised_on, None, None
    row.sequence = d.sequence


async def _finding_cleared(e: Projected, d: ev.FindingClearedIn) -> None:
    row = await e.session.get(ViewFinding, d.key)
    if row is None or row.sequence >= d.sequence:
        return
    row.status, row.cleared_on, row.cleared_reason = "cleared", d.cleared_on, d.reason
    row.finding_id, row.sequence = d.finding_id, d.sequence


APPLY: dict[type[BaseModel], Apply] = {
    ev.FindingRaisedIn: _finding_raised,
    ev.FindingClearedIn: _finding_cleared,
}
