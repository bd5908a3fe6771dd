"""Tables the audit service owns (its own database; no other service reads them).

The append-only ``ledger_*`` tables are :mod:`services.audit.ledger.models`, on this
module's metadata (imported at the end, so ``Base.metadata`` always holds them). The read
models of the monitoring views are here; they may be rebuilt.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.outbox import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)

# --- read models of the monitoring views (projections of ledger entries; rebuildable) -------
# Ordinary tables: POST /views/rebuild empties them and replays the ledger. Each row names
# the events it was built from (``*_event_id``): the evidence a finding cites.

_ID = 64
_CODE = 10


class ViewHousehold(Base):
    __tablename__ = "view_households"

    household_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    village: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(10))
    registered_on: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewClassChange(Base):
    """A household's recognised class from ``effective_date`` (registration included)."""

    __tablename__ = "view_class_changes"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    effective_date: Mapped[date] = mapped_column(Date)
    from_class: Mapped[str | None] = mapped_column(String(20))
    to_class: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(36))


class ViewPerson(Base):
    __tablename__ = "view_persons"

    person_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    sex: Mapped[str] = mapped_column(String(10))
    ethnicity: Mapped[str] = mapped_column(String(100))
    ethnic_minority: Mapped[bool] = mapped_column(Boolean)
    date_of_birth: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewAssessment(Base):
    """A survey's inputs, the class recorded and the class the audit's standard gives."""

    __tablename__ = "view_assessments"

    assessment_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    standard_code: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(10))
    income_per_person_month: Mapped[int] = mapped_column(BigInteger)
    deprived_indicators: Mapped[list[str]] = mapped_column(JSON)
    recorded_class: Mapped[str] = mapped_column(String(20))
    expected_class: Mapped[str | None] = mapped_column(String(20))
    misclassified: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewReviewMeeting(Base):
    __tablename__ = "view_review_meetings"

    meeting_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    review_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE))
    held_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[int] = mapped_column(Integer)
    agreeing: Mapped[int] = mapped_column(Integer)
    quorum_met: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewReviewPosting(Base):
    __tablename__ = "view_review_postings"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    review_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE))
    posted_on: Mapped[date] = mapped_column(Date)
    posting_ends_on: Mapped[date] = mapped_column(Date)
    required_working_days: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewRecognition(Base):
    __tablename__ = "view_recognitions"

    review_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    village: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer, index=True)
    recognised_on: Mapped[date] = mapped_column(Date)
    meeting_id: Mapped[str | None] = mapped_column(String(_ID))
    posted_on: Mapped[date | None] = mapped_column(Date)
    posting_ends_on: Mapped[date | None] = mapped_column(Date)
    households_reviewed: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewComplaint(Base):
    __tablename__ = "view_complaints"

    complaint_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    filed_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(20))
    class_changed: Mapped[bool | None] = mapped_column(Boolean)
    filed_event_id: Mapped[str | None] = mapped_column(String(36))
    resolved_event_id: Mapped[str | None] = mapped_column(String(36))


class ViewEscape(Base):
    __tablename__ = "view_escapes"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    registered_on: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewApplication(Base):
    """A regular-review application to the households service."""

    __tablename__ = "view_applications"

    application_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    kind: Mapped[str | None] = mapped_column(String(40))
    received_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(20))
    event_ids: Mapped[list[str]] = mapped_column(JSON)


class ViewHousing(Base):
    """A housing-support application: applied → approved or refused → disbursed."""

    __tablename__ = "view_housing"

    application_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    approved_on: Mapped[date | None] = mapped_column(Date)
    refused_on: Mapped[date | None] = mapped_column(Date)
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    principal: Mapped[int | None] = mapped_column(BigInteger)
    event_ids: Mapped[list[str]] = mapped_column(JSON)


class ViewEntitlement(Base):
    __tablename__ = "view_entitlements"

    entitlement_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(_ID), index=True)
    household_id: Mapped[str | None] = mapped_column(String(_ID))
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    group: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    event_ids: Mapped[list[str]] = mapped_column(JSON)


class ViewCard(Base):
    __tablename__ = "view_cards"

    card_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(_ID), index=True)
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    source: Mapped[str] = mapped_column(String(20))
    issued_on: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(String(20))
    renewal: Mapped[bool] = mapped_column(Boolean)
    event_ids: Mapped[list[str]] = mapped_column(JSON)


class ViewEnrolment(Base):
    __tablename__ = "view_enrolments"

    enrolment_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(_ID), index=True)
    person_id: Mapped[str | None] = mapped_column(String(_ID))
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    rural_worker: Mapped[bool] = mapped_column(Boolean)
    dropped_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)


class ViewPlacement(Base):
    __tablename__ = "view_placements"

    placement_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(_ID), index=True)
    person_id: Mapped[str] = mapped_column(String(_ID))
    commune_code: Mapped[str] = mapped_column(String(_CODE), index=True)
    placed_on: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(20))


class ViewTarget(Base):
    """The latest yearly plan of a unit (commune, district or province)."""

    __tablename__ = "view_targets"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_level: Mapped[str] = mapped_column(String(20), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(_CODE), primary_key=True)
    placements: Mapped[int | None] = mapped_column(Integer)
    trainees: Mapped[int | None] = mapped_column(Integer)
    rural_trainees: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(36))


class ViewFinding(Base):
    """A breach, one row per key (kind:subject); rebuilt from finding_raised / _cleared."""

    __tablename__ = "view_findings"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    finding_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(50), index=True)
    subject_id: Mapped[str] = mapped_column(String(_ID))
    commune_code: Mapped[str | None] = mapped_column(String(_CODE), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON)
    raised_on: Mapped[date] = mapped_column(Date)
    cleared_on: Mapped[date | None] = mapped_column(Date)
    cleared_reason: Mapped[str | None] = mapped_column(Text)
    #: Raise/clear count of the key: an echo of an older finding event never undoes a newer.
    sequence: Mapped[int] = mapped_column(Integer)


class ViewEvaluation(Base):
    """The as-of date and standards of the last evaluation (one row; not rebuilt)."""

    __tablename__ = "view_evaluation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    as_of: Mapped[date] = mapped_column(Date)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)


#: Tables POST /views/rebuild empties and refills from the ledger, in this order.
VIEW_TABLES = (
    ViewHousehold,
    ViewClassChange,
    ViewPerson,
    ViewAssessment,
    ViewReviewMeeting,
    ViewReviewPosting,
    ViewRecognition,
    ViewComplaint,
    ViewEscape,
    ViewApplication,
    ViewHousing,
    ViewEntitlement,
    ViewCard,
    ViewEnrolment,
    ViewPlacement,
    ViewTarget,
    ViewFinding,
)

# The ledger's tables are on Base.metadata wherever it is used (migrations, create_all):
# registered here, after Base exists, because services.audit.ledger.models builds on it.
from services.audit.ledger import models as _ledger_models  # noqa: E402, F401
