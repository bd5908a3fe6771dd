"""Review rows as the API shows them (the response models of review/schemas.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.households.models import Application, Complaint, Review, ReviewMeeting
from services.households.review.schemas import (
    ApplicationOut,
    ComplaintOut,
    MeetingOut,
    ReviewSummaryOut,
)


def complaint_view(complaint: Complaint, today: date) -> ComplaintOut:
    """A complaint as the API shows it; overdue when still open after its due day."""
    return ComplaintOut(
        complaint_id=complaint.id,
        overdue=complaint.status == "open" and complaint.due_on < today,
        **_columns(complaint, ComplaintOut, "complaint_id", "overdue"),
    )


def meeting_view(meeting: ReviewMeeting) -> MeetingOut:
    """A recorded village meeting with its attendance and agreement shares."""
    return MeetingOut(
        meeting_id=meeting.id,
        attendance_share=meeting.attendees / meeting.invited_households,
        agreement_share=meeting.agreeing / meeting.attendees if meeting.attendees else 0.0,
        **_columns(meeting, MeetingOut, "meeting_id", "attendance_share", "agreement_share"),
    )


def _columns(row: Any, model: type[Any], *computed: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in model.model_fields if name not in computed}


def review_summary(review: Review, listed: int) -> ReviewSummaryOut:
    """A review's stage and dates; `listed` is how many households it lists."""
    return ReviewSummaryOut(
        review_id=review.id,
        commune_code=review.commune_code,
        village=review.village,
        year=review.year,
        stage=review.stage,
        opened_on=review.opened_on,
        households_listed=listed,
        approved_meeting_id=review.approved_meeting_id,
        posted_on=review.posted_on,
        posting_ends_on=review.posting_ends_on,
        recognised_on=review.recognised_on,
    )


def application_view(application: Application, today: date) -> ApplicationOut:
    """An application as the API shows it; overdue when undecided after its due day."""
    decided = application.decided_on
    return ApplicationOut(
        application_id=application.id,
        household_id=application.household_id,
        commune_code=application.commune_code,
        kind=application.kind,
        received_on=application.received_on,
        due_on=application.due_on,
        status=application.status,
        overdue=decided is None and application.due_on < today,
        decided_on=decided,
        outcome=application.outcome,
        on_time=None if decided is None else decided <= application.due_on,
        reason=application.reason,
        assessment_id=application.assessment_id,
    )
