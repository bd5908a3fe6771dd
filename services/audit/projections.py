"""The read models of the monitoring views, kept from ledger entries (and only from them).

:func:`apply_entry` folds one ledger entry into the ``view_*`` tables and says which
subjects it touched, so their findings can be re-evaluated. It reads nothing but the entry
and the read models, which is why replaying the ledger in order rebuilds them exactly.
An event whose data does not match the audit's reading of its type is left out of the
views (it stays on the ledger, and a warning is logged) — it never blocks the ledger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import view_events as ev
from services.audit.domain import expected_class, misclassified
from services.audit.ledger.store import LedgerEntry
from services.audit.models import (
    Base,
    ViewApplication,
    ViewAssessment,
    ViewCard,
    ViewClassChange,
    ViewComplaint,
    ViewEnrolment,
    ViewEntitlement,
    ViewEscape,
    ViewFinding,
    ViewHousehold,
    ViewHousing,
    ViewPerson,
    ViewPlacement,
    ViewRecognition,
    ViewReviewMeeting,
    ViewReviewPosting,
    ViewTarget,
)
from shared.observability import get_logger
from shared.prefetch import Prefetch, lookup

log = get_logger(__name__)
M = TypeVar("M", bound=Base)


@dataclass
class Touched:
    """Subjects whose findings an entry may have changed, by finding subject type."""

    reviews: set[str] = field(default_factory=set)
    households: set[str] = field(default_factory=set)
    persons: set[str] = field(default_factory=set)
    complaints: set[str] = field(default_factory=set)
    applications: set[str] = field(default_factory=set)
    housing: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return any(
            (
                self.reviews,
                self.households,
                self.persons,
                self.complaints,
                self.applications,
                self.housing,
            )
        )


@dataclass(frozen=True)
class _Entry:
    session: AsyncSession
    entry: LedgerEntry
    touched: Touched

    @property
    def event_id(self) -> str:
        return self.entry.event_id


async def _row(session: AsyncSession, model: type[M], pk: Any, **defaults: Any) -> M:
    """The row with primary key ``pk``, or a new one with ``defaults`` (added)."""
    row = await lookup(session, model, pk)
    if row is None:
        row = model(**defaults)
        session.add(row)
    return row


def _with(ids: list[str] | None, event_id: str) -> list[str]:
    return [*(ids or []), event_id]  # a new list: JSON columns change by assignment


# --- households ------------------------------------------------------------------------------


async def _household_registered(e: _Entry, d: ev.HouseholdRegistered) -> None:
    row = await _row(e.session, ViewHousehold, d.household_id, household_id=d.household_id)
    row.commune_code, row.village, row.area = d.commune_code, d.village, d.area
    row.registered_on, row.event_id = d.registered_on, e.event_id
    e.session.add(
        ViewClassChange(
            leaf_index=e.entry.leaf_index,
            household_id=d.household_id,
            commune_code=d.commune_code,
            effective_date=d.registered_on,
            from_class=None,
            to_class=d.poverty_class,
            basis="initial_registration",
            event_id=e.event_id,
        )
    )


async def _person_added(e: _Entry, d: ev.PersonAdded) -> None:
    row = await _row(e.session, ViewPerson, d.person_id, person_id=d.person_id)
    row.household_id, row.commune_code, row.sex = d.household_id, d.commune_code, d.sex
    row.ethnicity, row.ethnic_minority = d.ethnicity, d.ethnic_minority
    row.date_of_birth, row.event_id = d.date_of_birth, e.event_id


async def _assessed(e: _Entry, d: ev.HouseholdAssessed) -> None:
    expected = expected_class(
        d.area, d.income_per_person_month, d.deprived_indicators, d.assessed_on
    )
    row = await _row(e.session, ViewAssessment, d.assessment_id, assessment_id=d.assessment_id)
    row.leaf_index, row.household_id, row.commune_code = (
        e.entry.leaf_index,
        d.household_id,
        d.commune_code,
    )
    row.assessed_on, row.standard_code, row.area = d.assessed_on, d.standard_code, d.area
    row.income_per_person_month = d.income_per_person_month
    row.deprived_indicators = sorted(set(d.deprived_indicators))
    row.recorded_class, row.expected_class = d.recorded_class, expected
    row.misclassified, row.event_id = misclassified(d.recorded_class, expected), e.event_id
    e.touched.households.add(d.household_id)


async def _reclassified(e: _Entry, d: ev.HouseholdReclassified) -> None:
    e.session.add(
        ViewClassChange(
            leaf_index=e.entry.leaf_index,
            household_id=d.household_id,
            commune_code=d.commune_code,
            effective_date=d.effective_date,
            from_class=d.from_class,
            to_class=d.to_class,
            basis=d.basis,
            event_id=e.event_id,
        )
    )


async def _meeting(e: _Entry, d: ev.ReviewMeetingHeld) -> None:
    row = await _row(e.session, ViewReviewMeeting, d.meeting_id, meeting_id=d.meeting_id)
    row.review_id, row.commune_code, row.held_on = d.review_id, d.commune_code, d.held_on
    row.attendees, row.agreeing, row.quorum_met = d.attendees, d.agreeing, d.quorum_met
    row.event_id = e.event_id
    e.touched.reviews.add(d.review_id)


async def _posted(e: _Entry, d: ev.ReviewListPosted) -> None:
    e.session.add(
        ViewReviewPosting(
            leaf_index=e.entry.leaf_index,
            review_id=d.review_id,
            commune_code=d.commune_code,
            posted_on=d.posted_on,
            posting_ends_on=d.posting_ends_on,
            required_working_days=d.required_working_days,
            event_id=e.event_id,
        )
    )
    e.touched.reviews.add(d.review_id)


async def _recognised(e: _Entry, d: ev.ReviewRecognised) -> None:
    row = await _row(e.session, ViewRecognition, d.review_id, review_id=d.review_id)
    row.commune_code, row.village, row.year = d.commune_code, d.village, d.year
    row.recognised_on, row.meeting_id = d.recognised_on, d.meeting_id
    row.posted_on, row.posting_ends_on = d.posted_on, d.posting_ends_on
    row.households_reviewed, row.event_id = d.households_reviewed, e.event_id
    e.touched.reviews.add(d.review_id)


async def _complaint_filed(e: _Entry, d: ev.ComplaintFiled) -> None:
    row = await _row(e.session, ViewComplaint, d.complaint_id, complaint_id=d.complaint_id)
    row.household_id, row.commune_code, row.filed_on = d.household_id, d.commune_code, d.filed_on
    row.filed_event_id = e.event_id
    e.touched.complaints.add(d.complaint_id)


async def _complaint_resolved(e: _Entry, d: ev.ComplaintResolved) -> None:
    row = await _row(e.session, ViewComplaint, d.complaint_id, complaint_id=d.complaint_id)
    row.household_id, row.commune_code, row.filed_on = d.household_id, d.commune_code, d.filed_on
    row.resolved_on, row.outcome, row.class_changed = d.resolved_on, d.outcome, d.class_changed
    row.resolved_event_id = e.event_id
    e.touched.complaints.add(d.complaint_id)


async def _escape(e: _Entry, d: ev.EscapeRegistered) -> None:
    e.session.add(
        ViewEscape(
            leaf_index=e.entry.leaf_index,
            household_id=d.household_id,
            commune_code=d.commune_code,
            registered_on=d.registered_on,
            event_id=e.event_id,
        )
    )


async def _application(e: _Entry, d: ev.ApplicationReceived | ev.ApplicationDecided) -> None:
    row = await _row(e.session, ViewApplication, d.application_id, application_id=d.application_id)
    row.household_id, row.commune_code, row.received_on = (
        d.household_id,
        d.commune_code,
        d.received_on,
    )
    if isinstance(d, ev.ApplicationReceived):
        row.kind = d.kind
    else:
        row.decided_on, row.outcome = d.decided_on, d.outcome
    row.event_ids = _with(row.event_ids, e.event_id)
    e.touched.applications.add(d.application_id)


# --- insurance -------------------------------------------------------------------------------


async def _granted(e: _Entry, d: ev.EntitlementGranted) -> None:
    row = await _row(e.session, ViewEntitlement, d.entitlement_id, entitlement_id=d.entitlement_id)
    row.person_id, row.household_id, row.commune_code = d.person_id, d.household_id, d.commune_code
    row.group, row.starts_on = d.group, d.starts_on
    if row.ends_on is None:  # an end already recorded is not undone by a late grant
        row.ends_on = d.ends_on
    row.event_ids = _with(row.event_ids, e.event_id)
    e.touched.persons.add(d.person_id)


async def _ended(e: _Entry, d: ev.EntitlementEnded) -> None:
    row = await _row(
        e.session,
        ViewEntitlement,
        d.entitlement_id,
        entitlement_id=d.entitlement_id,
        starts_on=d.ends_on,
    )
    row.person_id, row.household_id, row.commune_code = d.person_id, d.household_id, d.commune_code
    row.group, row.ends_on = d.group, d.ends_on
    row.event_ids = _with(row.event_ids, e.event_id)
    e.touched.persons.add(d.person_id)


async def _card(e: _Entry, card_id: str, person_id: str, commune: str, **values: Any) -> ViewCard:
    row = await _row(e.session, ViewCard, card_id, card_id=card_id, renewal=False)
    row.person_id, row.commune_code = person_id, commune
    for name, value in values.items():
        setattr(row, name, value)
    row.event_ids = _with(row.event_ids, e.event_id)
    e.touched.persons.add(person_id)
    return row


async def _card_issued(e: _Entry, d: ev.CardIssued) -> None:
    await _card(
        e,
        d.card_id,
        d.person_id,
        d.commune_code,
        source=d.source,
        issued_on=d.issued_on,
        valid_to=d.valid_to,
    )


async def _card_renewed(e: _Entry, d: ev.CardRenewed) -> None:
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
    e: _Entry, card_id: str, person_id: str, commune: str, on: Any, reason: str
) -> None:
    row = await e.session.get(ViewCard, card_id)
    if row is None:  # closing a card the audit never saw issued: nothing to measure
        e.touched.persons.add(person_id)
        return
    if row.closed_on is None or on < row.closed_on:
        row.closed_on, row.close_reason = on, reason
    row.event_ids = _with(row.event_ids, e.event_id)
    e.touched.persons.add(person_id)


async def _card_expired(e: _Entry, d: ev.CardExpired) -> None:
    await _close_card(e, d.card_id, d.person_id, d.commune_code, d.expired_on, "expired")


async def _card_revoked(e: _Entry, d: ev.CardRevoked) -> None:
    await _close_card(e, d.card_id, d.person_id, d.commune_code, d.revoked_on, "revoked")


# --- housing ---------------------------------------------------------------------------------


async def _housing(
    e: _Entry,
    d: ev.HousingApplied | ev.HousingApproved | ev.HousingRefused | ev.LoanDisbursed,
) -> None:
    row = await _row(e.session, ViewHousing, d.application_id, application_id=d.application_id)
    row.household_id, row.commune_code = d.household_id, d.commune_code
    if isinstance(d, ev.HousingApplied | ev.HousingApproved | ev.HousingRefused):
        row.applied_on = d.applied_on
    if isinstance(d, ev.HousingApproved | ev.LoanDisbursed):
        row.approved_on = d.approved_on
    if isinstance(d, ev.HousingRefused):
        row.refused_on = d.refused_on
    if isinstance(d, ev.LoanDisbursed):
        row.disbursed_on, row.principal = d.disbursed_on, d.principal
        if row.applied_on is None:
            row.applied_on = d.approved_on  # no application seen: start the clock at approval
    row.event_ids = _with(row.event_ids, e.event_id)
    e.touched.housing.add(d.application_id)


# --- employment ------------------------------------------------------------------------------


async def _target(e: _Entry, d: ev.TargetSet) -> None:
    row = await _row(
        e.session,
        ViewTarget,
        (d.year, d.unit_level, d.unit_code),
        year=d.year,
        unit_level=d.unit_level,
        unit_code=d.unit_code,
    )
    row.placements, row.trainees, row.rural_trainees = d.placements, d.trainees, d.rural_trainees
    row.event_id = e.event_id


async def _enrolment(
    e: _Entry, d: ev.TrainingEnrolled | ev.TrainingCompleted | ev.TrainingDropped
) -> None:
    commune = d.worker_commune_code if isinstance(d, ev.TrainingEnrolled) else d.commune_code
    row = await _row(
        e.session,
        ViewEnrolment,
        d.enrolment_id,
        enrolment_id=d.enrolment_id,
        rural_worker=False,
        commune_code=commune,
    )
    row.worker_id = d.worker_id
    if isinstance(d, ev.TrainingEnrolled):
        row.person_id, row.commune_code = d.person_id, commune
        row.enrolled_on, row.rural_worker = d.enrolled_on, d.rural_worker
    elif isinstance(d, ev.TrainingCompleted):
        row.completed_on = d.completed_on
    else:
        row.dropped_on = d.dropped_on


async def _placed(e: _Entry, d: ev.WorkerPlaced) -> None:
    row = await _row(e.session, ViewPlacement, d.placement_id, placement_id=d.placement_id)
    row.worker_id, row.person_id, row.commune_code = d.worker_id, d.person_id, d.commune_code
    row.placed_on, row.period = d.placed_on, d.period


# --- the audit's own findings ----------------------------------------------------------------


async def _finding_raised(e: _Entry, d: ev.FindingRaisedIn) -> None:
    row = await _row(e.session, ViewFinding, d.key, key=d.key, sequence=0)
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


async def _finding_cleared(e: _Entry, d: ev.FindingClearedIn) -> None:
    row = await e.session.get(ViewFinding, d.key)
    if row is None or row.sequence >= d.sequence:
        return
    row.status, row.cleared_on, row.cleared_reason = "cleared", d.cleared_on, d.reason
    row.finding_id, row.sequence = d.finding_id, d.sequence


Apply = Callable[[_Entry, Any], Awaitable[None]]

_APPLY: dict[type[BaseModel], Apply] = {
    ev.HouseholdRegistered: _household_registered,
    ev.PersonAdded: _person_added,
    ev.HouseholdAssessed: _assessed,
    ev.HouseholdReclassified: _reclassified,
    ev.ReviewMeetingHeld: _meeting,
    ev.ReviewListPosted: _posted,
    ev.ReviewRecognised: _recognised,
    ev.ComplaintFiled: _complaint_filed,
    ev.ComplaintResolved: _complaint_resolved,
    ev.EscapeRegistered: _escape,
    ev.ApplicationReceived: _application,
    ev.ApplicationDecided: _application,
    ev.EntitlementGranted: _granted,
    ev.EntitlementEnded: _ended,
    ev.CardIssued: _card_issued,
    ev.CardRenewed: _card_renewed,
    ev.CardExpired: _card_expired,
    ev.CardRevoked: _card_revoked,
    ev.HousingApplied: _housing,
    ev.HousingApproved: _housing,
    ev.HousingRefused: _housing,
    ev.LoanDisbursed: _housing,
    ev.TargetSet: _target,
    ev.TrainingEnrolled: _enrolment,
    ev.TrainingCompleted: _enrolment,
    ev.TrainingDropped: _enrolment,
    ev.WorkerPlaced: _placed,
    ev.FindingRaisedIn: _finding_raised,
    ev.FindingClearedIn: _finding_cleared,
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
    await _APPLY[model](_Entry(session, entry, touched), data)
    return touched
