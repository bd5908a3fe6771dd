"""The read models of the monitoring views, kept from ledger entries (and only from them).

:func:`apply_entry` folds one ledger entry into the ``view_*`` tables and says which
subjects it touched, so their findings can be re-evaluated. It reads nothing but the entry
and the read models, which is why replaying the ledger in order rebuilds them exactly.
An event whose data does not match the audit's reading of its type is left out of the
views (it stays on the ledger, and a warning is logged) — it never blocks the ledger.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.ledger.store import LedgerEntry
from services.audit.monitoring import consumed_events as ev
from services.audit.monitoring.domain.subjects import Touched
from services.audit.monitoring.models import (
    ViewApplication,
    ViewAssessment,
    ViewCard,
    ViewComplaint,
    ViewEnrolment,
    ViewEntitlement,
    ViewFinding,
    ViewHousehold,
    ViewHousing,
    ViewPerson,
    ViewPlacement,
    ViewRecognition,
    ViewReviewMeeting,
)
from services.audit.monitoring.projections import (
    employment,
    findings,
    households,
    housing,
    insurance,
)
from services.audit.monitoring.projections.entry import Apply, Projected
from shared.observability import get_logger
from shared.prefetch import Prefetch

log = get_logger(__name__)

_APPLY: dict[type[BaseModel], Apply] = {
    **households.APPLY,
    **insurance.APPLY,
    **housing.APPLY,
    **employment.APPLY,
    **findings.APPLY,
}


#: The read-model rows the projections look up by key, read once per consumer batch.
PREFETCH = [
    Prefetch(ViewHousehold, "household_id"),
    Prefetch(ViewPerson, "person_id"),
    Prefetch(ViewAssessment, "assessment_id"),
    Prefetch(ViewReviewMeeting, "meeting_id"),
    Prefetch(ViewRecognition, "review_id"),
    Prefetch(ViewComplaint, "complaint_id"),
    Prefetch(ViewApplication, "application_id"),
    Prefetch(ViewHousing, "application_id"),
    Prefetch(ViewEntitlement, "entitlement_id"),
    Prefetch(ViewCard, "card_id"),
    Prefetch(ViewEnrolment, "enrolment_id"),
    Prefetch(ViewPlacement, "placement_id"),
    Prefetch(ViewFinding, "key"),
]


async def apply_entry(session: AsyncSession, entry: LedgerEntry) -> Touched:
    """Fold one ledger entry into the read models; the subjects whose findings it may change."""
    touched = Touched()
    model = ev.READ_MODELS.get(entry.ce_type)
    if model is None:
        return touched
    try:
        data = model.model_validate(entry.event()["data"])
    except ValidationError as exc:
        log.warning(
            "views.event_unreadable", event_id=entry.event_id, type=entry.ce_type, error=str(exc)
        )
        return touched
    await _APPLY[model](Projected(session, entry, touched), data)
    return touched
