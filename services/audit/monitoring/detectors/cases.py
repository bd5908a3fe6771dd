"""Cases past their deadline: complaints, applications, housing decisions and disbursements."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors.breach import Breach, Ids, Verdicts, finding_key, rows_of
from services.audit.monitoring.domain.standards import (
    AuditPolicy,
    application_due,
    complaint_due,
)
from services.audit.monitoring.models import (
    ViewApplication,
    ViewComplaint,
    ViewHousing,
)

# --- cases past their deadline (open backlog) -----------------------------------------------

COMPLAINT_OVERDUE, APPLICATION_OVERDUE = "complaint_overdue", "application_overdue"
HOUSING_DECISION, HOUSING_DISBURSEMENT = "housing_decision_overdue", "housing_disbursement_overdue"


def open_on(done: date | None, on: date) -> bool:
    return done is None or done > on


async def judge_complaints(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {finding_key(COMPLAINT_OVERDUE, c): None for c in ids or ()}
    for c in await rows_of(session, ViewComplaint, ViewComplaint.complaint_id, ids):
        due = complaint_due(c.filed_on, policy)
        late = c.filed_on <= as_of and open_on(c.resolved_on, as_of) and as_of > due
        verdicts[finding_key(COMPLAINT_OVERDUE, c.complaint_id)] = (
            None
            if not late
            else Breach(
                COMPLAINT_OVERDUE,
                c.complaint_id,
                c.commune_code,
                f"Complaint of household {c.household_id} filed on {c.filed_on}, due {due}, "
                f"unresolved on {as_of}",
                tuple(i for i in (c.filed_event_id,) if i),
            )
        )
    return verdicts


async def judge_applications(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {finding_key(APPLICATION_OVERDUE, a): None for a in ids or ()}
    for a in await rows_of(session, ViewApplication, ViewApplication.application_id, ids):
        due = application_due(a.kind or "", a.received_on, policy)
        late = a.received_on <= as_of and open_on(a.decided_on, as_of) and as_of > due
        verdicts[finding_key(APPLICATION_OVERDUE, a.application_id)] = (
            None
            if not late
            else Breach(
                APPLICATION_OVERDUE,
                a.application_id,
                a.commune_code,
                f"Application ({a.kind or 'unknown kind'}) of household {a.household_id} received "
                f"on {a.received_on}, decision due {due}, undecided on {as_of}",
                tuple(a.event_ids),
            )
        )
    return verdicts


def housing_breaches(h: ViewHousing, as_of: date, policy: AuditPolicy) -> Verdicts:
    verdicts: Verdicts = {
        finding_key(HOUSING_DECISION, h.application_id): None,
        finding_key(HOUSING_DISBURSEMENT, h.application_id): None,
    }
    decided = min((d for d in (h.approved_on, h.refused_on) if d is not None), default=None)
    days = policy.housing_decision_days
    if (
        days is not None
        and h.applied_on <= as_of
        and open_on(decided, as_of)
        and (as_of - h.applied_on).days > days
    ):
        verdicts[finding_key(HOUSING_DECISION, h.application_id)] = Breach(
            HOUSING_DECISION,
            h.application_id,
            h.commune_code,
            f"Housing application of household {h.household_id} applied on {h.applied_on}, "
            f"undecided on {as_of} (standard {days} days)",
            tuple(h.event_ids),
        )
    days = policy.housing_disbursement_days
    approved = h.approved_on
    if (
        days is not None
        and approved is not None
        and approved <= as_of
        and open_on(h.disbursed_on, as_of)
        and (as_of - approved).days > days
    ):
        verdicts[finding_key(HOUSING_DISBURSEMENT, h.application_id)] = Breach(
            HOUSING_DISBURSEMENT,
            h.application_id,
            h.commune_code,
            f"Housing loan of household {h.household_id} approved on {approved}, not disbursed "
            f"on {as_of} (standard {days} days)",
            tuple(h.event_ids),
        )
    return verdicts


async def judge_housing(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {}
    for application_id in ids or ():
        verdicts[finding_key(HOUSING_DECISION, application_id)] = None
        verdicts[finding_key(HOUSING_DISBURSEMENT, application_id)] = None
    for h in await rows_of(session, ViewHousing, ViewHousing.application_id, ids):
        verdicts.update(housing_breaches(h, as_of, policy))
    return verdicts
