"""Request and response bodies of the review process API: periodic reviews, complaints,
regular-review applications and voluntary escape registrations.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from services.households.schemas import Body, ClassName, CommuneCode, Day
from shared.service import ResourceId

HouseholdIds = Field(min_length=1, max_length=2000, description="households to review (ids)")


class ReviewIn(Body):
    commune_code: str = CommuneCode
    village: str = Field(min_length=1, max_length=120)
    year: int = Field(ge=2016, le=2100)
    opened_on: Day
    household_ids: list[ResourceId] = HouseholdIds


class ReviewHouseholdsIn(Body):
    household_ids: list[ResourceId] = HouseholdIds


class MeetingIn(Body):
    held_on: Day
    invited_households: int = Field(ge=1, le=100_000)
    attendees: int = Field(ge=0, le=100_000)
    agreeing: int = Field(ge=0, le=100_000)
    chaired_by_village_head: bool
    supervised_by_fatherland_front: bool
    minutes: str = Field(min_length=1, max_length=20_000, description="the meeting's minutes")


class PostingIn(Body):
    posted_on: Day


class RecognitionIn(Body):
    recognised_on: Day


class ListedHouseholdOut(BaseModel):
    household_id: str
    current_class: str
    assessment_id: str | None = Field(description="the latest assessment in this review")
    assessed_class: str | None
    review_class: str | None = Field(
        description="the class the review gives: assessed, or corrected by an upheld complaint"
    )


class MeetingOut(BaseModel):
    meeting_id: str
    held_on: date
    invited_households: int
    attendees: int
    agreeing: int
    attendance_share: float
    agreement_share: float
    quorum_met: bool
    approved: bool
    chaired_by_village_head: bool
    supervised_by_fatherland_front: bool
    minutes: str | None


class MeetingResultOut(MeetingOut):
    review_stage: str
    reasons: list[str]


class ReviewSummaryOut(BaseModel):
    review_id: str
    commune_code: str
    village: str
    year: int
    stage: str
    opened_on: date
    households_listed: int
    approved_meeting_id: str | None
    posted_on: date | None
    posting_ends_on: date | None
    recognised_on: date | None


class ComplaintOut(BaseModel):
    complaint_id: str
    household_id: str
    review_id: str | None
    commune_code: str
    filed_on: date
    due_on: date
    subject: str
    status: Literal["open", "resolved"]
    overdue: bool
    resolved_on: date | None
    outcome: Literal["upheld", "rejected"] | None
    corrected_class: str | None
    class_changed: bool | None
    resolution_note: str | None


class ReviewOut(ReviewSummaryOut):
    households: list[ListedHouseholdOut]
    meetings: list[MeetingOut]
    complaints: list[ComplaintOut]
    blockers_on: date
    recognition_blockers: list[str] = Field(
        description="why the list may not be recognised on blockers_on; empty = it may"
    )


class RecognitionOut(BaseModel):
    review_id: str
    recognised_on: date
    households_reviewed: int
    poor: int
    near_poor: int
    escaped: int
    reclassified_household_ids: list[str]


class ComplaintIn(Body):
    household_id: ResourceId
    review_id: ResourceId | None = None
    filed_on: Day
    subject: str = Field(min_length=1, max_length=4000)


class ResolutionIn(Body):
    resolved_on: Day
    outcome: Literal["upheld", "rejected"]
    note: str = Field(min_length=1, max_length=4000, description="the written answer")
    corrected_class: ClassName | None = Field(
        None, description="the class an upheld complaint gives the household"
    )

    @field_validator("corrected_class")
    @classmethod
    def _only_when_upheld(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("outcome") == "rejected":
            raise ValueError("a rejected complaint corrects no class")
        return value


class EscapeIn(Body):
    registered_on: Day


class EscapeOut(BaseModel):
    household_id: str
    registered_on: date
    from_class: str
    to_class: str


ApplicationKind = Literal["fall_into_poverty", "leave_poverty", "reassessment"]


class ApplicationIn(Body):
    household_id: ResourceId
    kind: ApplicationKind
    received_on: Day


class DecisionIn(Body):
    decided_on: Day
    outcome: Literal["approved", "refused"]
    assessment_id: ResourceId | None = Field(
        None,
        validate_default=True,
        description="required when approved: the household's assessment that decides its class",
    )
    reason: str | None = Field(
        None,
        max_length=4000,
        validate_default=True,
        description="required when refused: the written refusal",
    )

    @field_validator("assessment_id")
    @classmethod
    def _approval_needs_assessment(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("outcome") == "approved":
            raise ValueError("an approval needs the assessment that decides the household's class")
        return value

    @field_validator("reason")
    @classmethod
    def _refusal_needs_reason(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value and info.data.get("outcome") == "refused":
            raise ValueError("a refusal needs a written reason")
        return value


class ApplicationOut(BaseModel):
    application_id: str
    household_id: str
    commune_code: str
    kind: ApplicationKind
    received_on: date
    due_on: date
    status: Literal["open", "decided"]
    overdue: bool
    decided_on: date | None
    outcome: Literal["approved", "refused"] | None
    on_time: bool | None
    reason: str | None
    assessment_id: str | None
