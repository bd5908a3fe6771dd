"""Events the households service publishes on ``ansinh.households.v1``.

No names or citizen ID numbers: persons appear as opaque UUIDs and keyed pseudonyms
(HMAC-SHA256 of the citizen ID with the platform secret).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.events import EventPayload, domain_event

SERVICE = "households"

PovertyClassName = Literal["poor", "near_poor", "middle_income", "not_poor", "unclassified"]
AreaName = Literal["rural", "urban"]
SexName = Literal["male", "female"]
ReclassificationBasis = Literal[
    "periodic_review", "regular_review", "voluntary_escape", "complaint", "initial_registration"
]


@domain_event(SERVICE, "household_registered")
class HouseholdRegistered(EventPayload):
    """A household was entered in the commune registry."""

    household_id: str
    commune_code: str
    village: str
    area: AreaName
    registered_on: date
    poverty_class: PovertyClassName = "unclassified"
    independent_since_year: int | None = None


@domain_event(SERVICE, "person_added")
class PersonAdded(EventPayload):
    """A person was added to a household (pseudonymised: no name, no citizen ID)."""

    person_id: str
    household_id: str
    commune_code: str
    citizen_pseudonym: str | None = Field(description="HMAC-SHA256 pseudonym of the citizen ID")
    sex: SexName
    date_of_birth: date
    ethnicity: str
    ethnic_minority: bool
    relation_to_head: str


@domain_event(SERVICE, "household_assessed")
class HouseholdAssessed(EventPayload):
    """A survey scored a household under a poverty standard (inputs and the class recorded)."""

    assessment_id: str
    household_id: str
    commune_code: str
    review_id: str | None = None
    assessed_on: date
    standard_code: str
    area: AreaName
    income_per_person_month: int = Field(ge=0, description="VND per person per month")
    indicators_assessed: list[str]
    deprived_indicators: list[str]
    computed_class: PovertyClassName
    recorded_class: PovertyClassName
    override_reason: str | None = None
    reasons: list[str]


@domain_event(SERVICE, "household_reclassified")
class HouseholdReclassified(EventPayload):
    """A household's recognised poverty class changed."""

    household_id: str
    commune_code: str
    from_class: PovertyClassName
    to_class: PovertyClassName
    standard_code: str | None
    reasons: list[str]
    effective_date: date
    basis: ReclassificationBasis
    review_id: str | None = None
    assessment_id: str | None = None


@domain_event(SERVICE, "review_meeting_held")
class ReviewMeetingHeld(EventPayload):
    """A village meeting discussed a review list (democracy evidence)."""

    review_id: str
    meeting_id: str
    commune_code: str
    village: str
    held_on: date
    invited_households: int
    attendees: int
    agreeing: int
    quorum_met: bool
    agreement_share: float
    approved: bool
    chaired_by_village_head: bool
    supervised_by_fatherland_front: bool


@domain_event(SERVICE, "review_list_posted")
class ReviewListPosted(EventPayload):
    """A review's results were posted publicly, opening the complaint window."""

    review_id: str
    commune_code: str
    village: str
    posted_on: date
    posting_ends_on: date
    required_working_days: int
    households_listed: int


@domain_event(SERVICE, "review_recognised")
class ReviewRecognised(EventPayload):
    """The commune chair recognised the review's poor, near-poor and escaped households."""

    review_id: str
    commune_code: str
    village: str
    year: int
    recognised_on: date
    meeting_id: str | None
    posted_on: date | None
    posting_ends_on: date | None
    households_reviewed: int
    poor: int
    near_poor: int
    escaped: int


@domain_event(SERVICE, "complaint_filed")
class ComplaintFiled(EventPayload):
    """A complaint about a review result or classification was received."""

    complaint_id: str
    household_id: str
    commune_code: str
    review_id: str | None
    filed_on: date
    due_on: date


@domain_event(SERVICE, "complaint_resolved")
class ComplaintResolved(EventPayload):
    """A complaint was answered; says whether it changed the household's class."""

    complaint_id: str
    household_id: str
    commune_code: str
    review_id: str | None
    filed_on: date
    resolved_on: date
    outcome: Literal["upheld", "rejected"]
    class_changed: bool


@domain_event(SERVICE, "escape_registered")
class EscapeRegistered(EventPayload):
    """A household registered voluntarily to leave poverty."""

    household_id: str
    commune_code: str
    registered_on: date
    from_class: PovertyClassName


@domain_event(SERVICE, "application_received")
class ApplicationReceived(EventPayload):
    """A household applied for a regular (monthly) review; a decision is due by due_on."""

    application_id: str
    household_id: str
    commune_code: str
    kind: Literal["fall_into_poverty", "leave_poverty", "reassessment"]
    received_on: date
    due_on: date


@domain_event(SERVICE, "application_decided")
class ApplicationDecided(EventPayload):
    """A regular-review application got a decision or a written refusal."""

    application_id: str
    household_id: str
    commune_code: str
    received_on: date
    decided_on: date
    due_on: date
    outcome: Literal["approved", "refused"]
    on_time: bool


@domain_event(SERVICE, "personal_data_read")
class PersonalDataRead(EventPayload):
    """Someone read a person's personal data through the API (the read itself is evidence)."""

    person_id: str
    household_id: str
    commune_code: str
    reader_subject: str
    reader_role: str
    purpose: str
