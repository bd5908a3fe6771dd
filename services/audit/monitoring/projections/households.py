"""Households' events into the read models: households, members, assessments (re-checked
against the poverty standard), class changes, reviews, complaints, escapes, applications."""

from __future__ import annotations

from pydantic import BaseModel

from services.audit.monitoring import consumed_events as ev
from services.audit.monitoring.domain.poverty import expected_class, misclassified
from services.audit.monitoring.models import (
    ViewApplication,
    ViewAssessment,
    ViewClassChange,
    ViewComplaint,
    ViewEscape,
    ViewHousehold,
    ViewPerson,
    ViewRecognition,
    ViewReviewMeeting,
    ViewReviewPosting,
)
from services.audit.monitoring.projections.entry import Apply, Projected, row_for, with_event


async def _household_registered(e: Projected, d: ev.HouseholdRegistered) -> None:
    row = await row_for(e.session, ViewHousehold, d.household_id, household_id=d.household_id)
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


async def _person_added(e: Projected, d: ev.PersonAdded) -> None:
    row = await row_for(e.session, ViewPerson, d.person_id, person_id=d.person_id)
    row.household_id, row.commune_code, row.sex = d.household_id, d.commune_code, d.sex
    row.ethnicity, row.ethnic_minority = d.ethnicity, d.ethnic_minority
    row.date_of_birth, row.event_id = d.date_of_birth, e.event_id


async def _assessed(e: Projected, d: ev.HouseholdAssessed) -> None:
    expected = expected_class(
        d.area, d.income_per_person_month, d.deprived_indicators, d.assessed_on
    )
    row = await row_for(e.session, ViewAssessment, d.assessment_id, assessment_id=d.assessment_id)
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


async def _reclassified(e: Projected, d: ev.HouseholdReclassified) -> None:
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


async def _meeting(e: Projected, d: ev.ReviewMeetingHeld) -> None:
    row = await row_for(e.session, ViewReviewMeeting, d.meeting_id, meeting_id=d.meeting_id)
    row.review_id, row.commune_code, row.held_on = d.review_id, d.commune_code, d.held_on
    row.attendees, row.agreeing, row.quorum_met = d.attendees, d.agreeing, d.quorum_met
    row.event_id = e.event_id
    e.touched.reviews.add(d.review_id)


async def _posted(e: Projected, d: ev.ReviewListPosted) -> None:
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


async def _recognised(e: Projected, d: ev.ReviewRecognised) -> None:
    row = await row_for(e.session, ViewRecognition, d.review_id, review_id=d.review_id)
    row.commune_code, row.village, row.year = d.commune_code, d.village, d.year
    row.recognised_on, row.meeting_id = d.recognised_on, d.meeting_id
    row.posted_on, row.posting_ends_on = d.posted_on, d.posting_ends_on
    row.households_reviewed, row.event_id = d.households_reviewed, e.event_id
    e.touched.reviews.add(d.review_id)


async def _complaint_filed(e: Projected, d: ev.ComplaintFiled) -> None:
    row = await row_for(e.session, ViewComplaint, d.complaint_id, complaint_id=d.complaint_id)
    row.household_id, row.commune_code, row.filed_on = d.household_id, d.commune_code, d.filed_on
    row.filed_event_id = e.event_id
    e.touched.complaints.add(d.complaint_id)


async def _complaint_resolved(e: Projected, d: ev.ComplaintResolved) -> None:
    row = await row_for(e.session, ViewComplaint, d.complaint_id, complaint_id=d.complaint_id)
    row.household_id, row.commune_code, row.filed_on = d.household_id, d.commune_code, d.filed_on
    row.resolved_on, row.outcome, row.class_changed = d.resolved_on, d.outcome, d.class_changed
    row.resolved_event_id = e.event_id
    e.touched.complaints.add(d.complaint_id)


async def _escape(e: Projected, d: ev.EscapeRegistered) -> None:
    e.session.add(
        ViewEscape(
            leaf_index=e.entry.leaf_index,
            household_id=d.household_id,
            commune_code=d.commune_code,
            registered_on=d.registered_on,
            event_id=e.event_id,
        )
    )


async def _application(e: Projected, d: ev.ApplicationReceived | ev.ApplicationDecided) -> None:
    row = await row_for(
        e.session, ViewApplication, d.application_id, application_id=d.application_id
    )
    row.household_id, row.commune_code, row.received_on = (
        d.household_id,
        d.commune_code,
        d.received_on,
    )
    if isinstance(d, ev.ApplicationReceived):
        row.kind = d.kind
    else:
        row.decided_on, row.outcome = d.decided_on, d.outcome
    row.event_ids = with_event(row.event_ids, e.event_id)
    e.touched.applications.add(d.application_id)


APPLY: dict[type[BaseModel], Apply] = {
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
}
