"""Response bodies of the monitoring views (the API and the inspector dashboard share them).

Every indicator is a :class:`Ratio`: numerator and denominator as counted, and the value
derived from them (``null`` when the denominator is 0). A row whose ``commune_code`` is
``null`` is the total over the communes the caller may read. Dates are ISO dates; lags are
in calendar days. No names or citizen ID numbers appear here: persons, households, cards and
applications are named by their ids only.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, model_validator

PovertyClassName = Literal["poor", "near_poor", "middle_income", "not_poor", "unclassified"]
FindingStatus = Literal["open", "cleared"]
Dimension = Literal["commune", "ethnicity", "sex"]
Benefit = Literal["health_insurance_card", "vocational_training", "job_placement", "housing_loan"]
LagMeasure = Literal[
    "eligibility_to_card",
    "application_to_decision",
    "housing_application_to_decision",
    "housing_approval_to_disbursement",
    "complaint_to_resolution",
]
TargetMeasure = Literal["placements", "trainees", "rural_trainees"]
RateMeasure = Literal["poor_rate", "near_poor_rate"]


class Ratio(BaseModel):
    """``numerator / denominator × per``; ``value`` is null when the denominator is 0."""

    numerator: int
    denominator: int
    per: int = Field(1, description="1 for a share, 1000 for a rate per 1,000, 100 for percent")
    value: float | None = None

    @model_validator(mode="after")
    def _value(self) -> Ratio:
        self.value = (
            round(self.numerator * self.per / self.denominator, 6) if self.denominator else None
        )
        return self


# --- democracy ------------------------------------------------------------------------------


class DemocracyRow(BaseModel):
    commune_code: str | None = Field(description="null: the total")
    recognitions: int
    recognitions_with_valid_meeting: Ratio = Field(
        description="recognitions preceded by a village meeting with quorum and ≥ 50% agreement"
    )
    lists_posted_for_required_days: Ratio = Field(
        description="lists recognised only after their public posting period ended"
    )
    households_reviewed: int
    complaints_received: int
    complaints_per_1000_reviewed: Ratio
    complaints_resolved_on_time: Ratio = Field(description="resolved within deadline / received")
    complaints_changing_class: Ratio = Field(description="resolved with a class change / resolved")
    complaints_open: int
    escape_registrations: int = Field(description="voluntary registrations to leave poverty")


class ReviewCheck(BaseModel):
    """One recognised review list and what the audit found about it."""

    review_id: str
    commune_code: str
    village: str
    year: int
    recognised_on: date
    meeting_id: str | None = Field(description="the qualifying meeting, else the one named")
    valid_meeting: bool
    posted_on: date | None
    posting_ends_on: date | None = Field(description="last day of posting the audit applies")
    posted_for_required_days: bool
    households_reviewed: int
    evidence: list[str] = Field(description="event ids: recognition, meetings, posting")


class Democracy(BaseModel):
    year: int
    commune_code: str | None
    as_of: date
    total: DemocracyRow
    communes: list[DemocracyRow]
    reviews: list[ReviewCheck]


# --- fairness -------------------------------------------------------------------------------


class FairnessRow(BaseModel):
    commune_code: str | None
    exclusion: Ratio = Field(
        description="entitled persons with no active card past the service standard / entitled"
    )
    excess: Ratio = Field(description="active cards without a current entitlement / active cards")
    duplicates: Ratio = Field(description="persons with > 1 active card / persons with a card")
    misclassification: Ratio = Field(
        description="assessments whose recorded class differs from the standard / assessments"
    )


class DistributionRow(BaseModel):
    """One group's share of the eligible population against its share of a benefit."""

    dimension: Dimension
    group: str
    benefit: Benefit
    eligible_share: Ratio = Field(description="eligible in the group / eligible in all groups")
    benefit_share: Ratio = Field(description="beneficiaries in the group / all beneficiaries")
    coverage: Ratio = Field(description="eligible beneficiaries in the group / eligible in it")


class Fairness(BaseModel):
    year: int
    commune_code: str | None
    as_of: date
    card_service_standard_days: int
    total: FairnessRow
    communes: list[FairnessRow]
    distribution: list[DistributionRow]


# --- timeliness -----------------------------------------------------------------------------


class BacklogBucket(BaseModel):
    label: str = Field(description='e.g. "0-7", "8-30", "31-90", ">90" (days open)')
    min_days: int
    max_days: int | None
    count: int


class LagStats(BaseModel):
    measure: LagMeasure
    standard_days: int | None = Field(description="the service standard; null: none configured")
    completed: int
    median_days: float | None
    p90_days: float | None
    on_time: Ratio = Field(description="completed within the standard / completed")
    open: int
    open_overdue: int = Field(description="open past the standard on as_of")
    backlog: list[BacklogBucket]


class TimelinessRow(BaseModel):
    commune_code: str | None
    lags: list[LagStats]


class Timeliness(BaseModel):
    year: int
    commune_code: str | None
    as_of: date
    total: TimelinessRow
    communes: list[TimelinessRow]


# --- targets --------------------------------------------------------------------------------


class TargetLine(BaseModel):
    measure: TargetMeasure
    plan: int | None = Field(description="null: no target set")
    actual: int
    achievement: Ratio = Field(description="actual / plan")


class RateChange(BaseModel):
    measure: RateMeasure
    start: Ratio = Field(description="households in the class / households, on 1 January")
    end: Ratio = Field(description="the same on 31 December (or as_of if earlier)")
    change_pp: float | None = Field(description="end − start, percentage points")
    planned_reduction_pp: float | None
    met: bool | None


class TargetsRow(BaseModel):
    commune_code: str | None
    lines: list[TargetLine]
    rates: list[RateChange]


class Targets(BaseModel):
    year: int
    commune_code: str | None
    as_of: date
    total: TargetsRow
    communes: list[TargetsRow]


# --- findings -------------------------------------------------------------------------------


class Finding(BaseModel):
    finding_id: str = Field(description="this occurrence (a new id if raised again)")
    key: str = Field(description="kind:subject_id — stable across re-evaluations")
    kind: str
    subject_id: str
    commune_code: str | None
    status: FindingStatus
    summary: str
    evidence: list[str] = Field(description="ids of the events that show the breach")
    raised_on: date = Field(description="the as-of date of the evaluation that raised it")
    cleared_on: date | None
    cleared_reason: str | None


class FindingPage(BaseModel):
    items: list[Finding]
    next_after: str | None = Field(description="pass as ?after= for the next page; null at end")


# --- overview and drill-down ----------------------------------------------------------------


class CommuneRow(BaseModel):
    """One commune at a glance (drill-down from the district)."""

    commune_code: str
    households: int
    poor_rate: Ratio
    near_poor_rate: Ratio
    persons: int
    entitled_persons: int
    active_cards: int
    exclusion: Ratio
    recognitions_with_valid_meeting: Ratio
    open_findings: int


class Overview(BaseModel):
    year: int
    commune_code: str | None
    as_of: date
    democracy: DemocracyRow
    fairness: FairnessRow
    timeliness: TimelinessRow
    targets: TargetsRow
    open_findings: int
    open_findings_by_kind: dict[str, int]
    communes: list[CommuneRow]


class HouseholdRow(BaseModel):
    household_id: str
    commune_code: str
    village: str
    area: str
    current_class: PovertyClassName | None
    members: int
    misclassified: bool = Field(description="its latest assessment is misclassified")
    open_findings: int


class HouseholdPage(BaseModel):
    items: list[HouseholdRow]
    next_after: str | None


class ClassChange(BaseModel):
    effective_date: date
    from_class: PovertyClassName | None
    to_class: PovertyClassName
    basis: str
    event_id: str


class MemberRow(BaseModel):
    person_id: str
    sex: str
    ethnicity: str
    ethnic_minority: bool
    birth_year: int
    entitled: bool = Field(description="an entitlement current on as_of")
    active_cards: list[str] = Field(description="card ids active on as_of")


class AssessmentCheck(BaseModel):
    assessment_id: str
    assessed_on: date
    standard_code: str
    area: str
    income_per_person_month: int
    deprivations: int
    recorded_class: PovertyClassName
    expected_class: Literal["poor", "near_poor", "other"] | None = Field(
        description="the class the audit's own copy of the standard gives (middle-income and "
        "not-poor are both 'other'); null: no standard in force on assessed_on"
    )
    misclassified: bool
    event_id: str


class CaseRow(BaseModel):
    """A complaint, a regular-review application or a housing application of the household."""

    kind: Literal["complaint", "application", "housing"]
    case_id: str
    started_on: date
    due_on: date | None
    finished_on: date | None
    outcome: str | None
    on_time: bool | None


class HouseholdSummary(BaseModel):
    household_id: str
    commune_code: str
    village: str
    area: str
    registered_on: date
    current_class: PovertyClassName | None
    as_of: date
    class_history: list[ClassChange]
    members: list[MemberRow]
    assessments: list[AssessmentCheck]
    cases: list[CaseRow]
    findings: list[Finding]


class RebuildReport(BaseModel):
    events_replayed: int
    rows: dict[str, int] = Field(description="rows per read-model table after the rebuild")
    findings_raised: int
    findings_cleared: int
    as_of: date


class EvaluationReport(BaseModel):
    as_of: date
    raised: int
    cleared: int
    open: int
