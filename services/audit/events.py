"""Events the audit service publishes on ``ansinh.audit.v1`` (subject: the finding's key).

Findings of the monitoring views: ``finding_raised`` when a breach is found,
``finding_cleared`` when it no longer holds (a late card finally issued, a complaint
resolved). Whatever is published here is consumed back by the service's own ledger
consumer, so findings are on the trail, and the findings read model is rebuilt from them.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.events import EventPayload, domain_event

SERVICE = "audit"


@domain_event(SERVICE, "finding_raised")
class FindingRaised(EventPayload):
    """A monitoring view found a breach; ``evidence`` lists the events that show it."""

    finding_id: str = Field(description="this occurrence; a key raised again gets a new id")
    key: str = Field(description="kind:subject_id, stable across re-evaluations")
    kind: str = Field(
        description="recognition_without_valid_meeting, recognised_before_posting_ended, "
        "misclassified_assessment, duplicate_cards, card_missing, card_issued_late, "
        "card_excess, complaint_overdue, application_overdue, housing_decision_overdue, "
        "housing_disbursement_overdue"
    )
    subject_id: str = Field(description="the review, household, person, card or case")
    commune_code: str | None
    summary: str
    evidence: list[str] = Field(description="ids of the events that show the breach")
    raised_on: date = Field(description="the as-of date of the evaluation")
    sequence: int = Field(ge=1, description="raise/clear count of this key (orders them)")


@domain_event(SERVICE, "finding_cleared")
class FindingCleared(EventPayload):
    """A breach found earlier no longer holds."""

    finding_id: str
    key: str
    kind: str
    subject_id: str
    commune_code: str | None
    cleared_on: date = Field(description="the as-of date of the evaluation")
    reason: str
    sequence: int = Field(ge=1)
