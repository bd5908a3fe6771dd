"""The audit's own reading of the events its views are built from (tolerant readers).

Only the fields the views need, typed as the published contracts (contracts/events/) say;
extra fields are ignored, enumerations read as plain strings so a new value is not an error.
Services never import each other: these are not the producers' classes.
tests/unit/test_audit_view_events.py checks each model against its contract.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")


def ce_type(service: str, name: str) -> str:
    return f"vn.ansinh.{service}.{name}.v1"


# --- households ------------------------------------------------------------------------------


class HouseholdRegistered(_Event):
    household_id: str
    commune_code: str
    village: str
    area: str
    registered_on: date
    poverty_class: str = "unclassified"


class PersonAdded(_Event):
    person_id: str
    household_id: str
    commune_code: str
    sex: str
    ethnicity: str
    ethnic_minority: bool
    date_of_birth: date


class HouseholdAssessed(_Event):
    assessment_id: str
    household_id: str
    commune_code: str
    assessed_on: date
    standard_code: str
    area: str
    income_per_person_month: int
    deprived_indicators: list[str]
    recorded_class: str


class HouseholdReclassified(_Event):
    household_id: str
    commune_code: str
    from_class: str
    to_class: str
    basis: str
    effective_date: date


class ReviewMeetingHeld(_Event):
    meeting_id: str
    review_id: str
    commune_code: str
    held_on: date
    attendees: int
    agreeing: int
    quorum_met: bool


class ReviewListPosted(_Event):
    review_id: str
    commune_code: str
    posted_on: date
    posting_ends_on: date
    required_working_days: int


class ReviewRecognised(_Event):
    review_id: str
    commune_code: str
    village: str
    year: int
    recognised_on: date
    meeting_id: str | None
    posted_on: date | None
    posting_ends_on: date | None
    households_reviewed: int


class ComplaintFiled(_Event):
    complaint_id: str
    household_id: str
    commune_code: str
    filed_on: date


class ComplaintResolved(_Event):
    complaint_id: str
    household_id: str
    commune_code: str
    filed_on: date
    resolved_on: date
    outcome: str
    class_changed: bool


class EscapeRegistered(_Event):
    household_id: str
    commune_code: str
    registered_on: date


class ApplicationReceived(_Event):
    application_id: str
    household_id: str
    commune_code: str
    kind: str
    received_on: date


class ApplicationDecided(_Event):
    application_id: str
    household_id: str
    commune_code: str
    received_on: date
    decided_on: date
    outcome: str


# --- insurance -------------------------------------------------------------------------------


class EntitlementGranted(_Event):
    entitlement_id: str
    person_id: str
    household_id: str | None
    commune_code: str
    group: str
    starts_on: date
    ends_on: date | None


class EntitlementEnded(_Event):
    entitlement_id: str
    person_id: str
    household_id: str | None
    commune_code: str
    group: str
    ends_on: date


class CardIssued(_Event):
    card_id: str
    person_id: str
    commune_code: str
    source: str
    issued_on: date
    valid_to: date


class CardRenewed(_Event):
    card_id: str
    renewed_card_id: str
    person_id: str
    commune_code: str
    valid_to: date
    renewed_on: date


class CardExpired(_Event):
    card_id: str
    person_id: str
    commune_code: str
    expired_on: date


class CardRevoked(_Event):
    card_id: str
    person_id: str
    commune_code: str
    revoked_on: date


# --- housing ---------------------------------------------------------------------------------


class HousingApplied(_Event):
    application_id: str
    household_id: str
    commune_code: str
    applied_on: date


class HousingApproved(_Event):
    application_id: str
    household_id: str
    commune_code: str
    applied_on: date
    approved_on: date


class HousingRefused(_Event):
    application_id: str
    household_id: str
    commune_code: str
    applied_on: date
    refused_on: date


class LoanDisbursed(_Event):
    application_id: str
    household_id: str
    commune_code: str
    approved_on: date
    disbursed_on: date
    principal: int


# --- employment ------------------------------------------------------------------------------


class TargetSet(_Event):
    year: int
    unit_level: str
    unit_code: str
    placements: int | None = None
    trainees: int | None = None
    rural_trainees: int | None = None


class TrainingEnrolled(_Event):
    enrolment_id: str
    worker_id: str
    person_id: str
    worker_commune_code: str
    enrolled_on: date
    rural_worker: bool


class TrainingCompleted(_Event):
    enrolment_id: str
    worker_id: str
    commune_code: str
    completed_on: date


class TrainingDropped(_Event):
    enrolment_id: str
    worker_id: str
    commune_code: str
    dropped_on: date


class WorkerPlaced(_Event):
    placement_id: str
    worker_id: str
    person_id: str
    commune_code: str
    placed_on: date
    period: str


# --- audit (its own findings, read back from the ledger) -------------------------------------


class FindingRaisedIn(_Event):
    finding_id: str
    key: str
    kind: str
    subject_id: str
    commune_code: str | None
    summary: str
    evidence: list[str]
    raised_on: date
    sequence: int


class FindingClearedIn(_Event):
    finding_id: str
    key: str
    kind: str
    subject_id: str
    commune_code: str | None
    cleared_on: date
    reason: str
    sequence: int


#: Every model above with the CloudEvents type it reads (the contract test walks this).
READ_MODELS: dict[str, type[_Event]] = {
    ce_type("households", "household_registered"): HouseholdRegistered,
    ce_type("households", "person_added"): PersonAdded,
    ce_type("households", "household_assessed"): HouseholdAssessed,
    ce_type("households", "household_reclassified"): HouseholdReclassified,
    ce_type("households", "review_meeting_held"): ReviewMeetingHeld,
    ce_type("households", "review_list_posted"): ReviewListPosted,
    ce_type("households", "review_recognised"): ReviewRecognised,
    ce_type("households", "complaint_filed"): ComplaintFiled,
    ce_type("households", "complaint_resolved"): ComplaintResolved,
    ce_type("households", "escape_registered"): EscapeRegistered,
    ce_type("households", "application_received"): ApplicationReceived,
    ce_type("households", "application_decided"): ApplicationDecided,
    ce_type("insurance", "entitlement_granted"): EntitlementGranted,
    ce_type("insurance", "entitlement_ended"): EntitlementEnded,
    ce_type("insurance", "card_issued"): CardIssued,
    ce_type("insurance", "card_renewed"): CardRenewed,
    ce_type("insurance", "card_expired"): CardExpired,
    ce_type("insurance", "card_revoked"): CardRevoked,
    ce_type("housing", "housing_applied"): HousingApplied,
    ce_type("housing", "housing_approved"): HousingApproved,
    ce_type("housing", "housing_refused"): HousingRefused,
    ce_type("housing", "loan_disbursed"): LoanDisbursed,
    ce_type("employment", "target_set"): TargetSet,
    ce_type("employment", "training_enrolled"): TrainingEnrolled,
    ce_type("employment", "training_completed"): TrainingCompleted,
    ce_type("employment", "training_dropped"): TrainingDropped,
    ce_type("employment", "worker_placed"): WorkerPlaced,
    ce_type("audit", "finding_raised"): FindingRaisedIn,
    ce_type("audit", "finding_cleared"): FindingClearedIn,
}
