"""Tables the households service owns (its own database; no other service reads them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import new_metadata
from shared.outbox import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


class Household(Base):
    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    village: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300))
    area: Mapped[str] = mapped_column(String(10))
    poverty_class: Mapped[str] = mapped_column(String(20), default="unclassified")
    class_standard_code: Mapped[str | None] = mapped_column(String(20))
    class_since: Mapped[date | None] = mapped_column(Date)
    independent_since_year: Mapped[int | None] = mapped_column(Integer)
    registered_on: Mapped[date] = mapped_column(Date)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(10))
    date_of_birth: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(40))
    citizen_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    citizen_pseudonym: Mapped[str | None] = mapped_column(String(80), unique=True)
    relation_to_head: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_household_date", "household_id", "assessed_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"))
    review_id: Mapped[str | None] = mapped_column(ForeignKey("reviews.id"), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    standard_code: Mapped[str] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(10))
    income_per_person_month: Mapped[int] = mapped_column(Integer)
    indicators_assessed: Mapped[list[str]] = mapped_column(JSON)
    deprived_indicators: Mapped[list[str]] = mapped_column(JSON)
    computed_class: Mapped[str] = mapped_column(String(20))
    recorded_class: Mapped[str] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    # The survey's key in a bulk import (assessment_ref, or household id @ date): makes a re-run
    # skip what was imported. Null for surveys recorded one at a time through the API.
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Review(Base):
    """One periodic review list: a village of a commune in a year."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_commune_year", "commune_code", "year"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    village: Mapped[str] = mapped_column(String(120))
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    opened_on: Mapped[date] = mapped_column(Date)
    approved_meeting_id: Mapped[str | None] = mapped_column(String(36))
    posted_on: Mapped[date | None] = mapped_column(Date)
    posting_ends_on: Mapped[date | None] = mapped_column(Date)
    recognised_on: Mapped[date | None] = mapped_column(Date)


class ReviewHousehold(Base):
    __tablename__ = "review_households"

    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id"), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"), primary_key=True)


class ReviewMeeting(Base):
    __tablename__ = "review_meetings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    invited_households: Mapped[int] = mapped_column(Integer)
    attendees: Mapped[int] = mapped_column(Integer)
    agreeing: Mapped[int] = mapped_column(Integer)
    quorum_met: Mapped[bool] = mapped_column(Boolean)
    approved: Mapped[bool] = mapped_column(Boolean)
    chaired_by_village_head: Mapped[bool] = mapped_column(Boolean)
    supervised_by_fatherland_front: Mapped[bool] = mapped_column(Boolean)
    minutes: Mapped[str | None] = mapped_column(Text)


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"), index=True)
    review_id: Mapped[str | None] = mapped_column(ForeignKey("reviews.id"), index=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    filed_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolved_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(10))
    class_changed: Mapped[bool | None] = mapped_column(Boolean)
    # An upheld complaint may correct the class the review gives the household at recognition.
    corrected_class: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class Application(Base):
    """A regular-review application (on request, any month)."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id"), index=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    decided_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    assessment_id: Mapped[str | None] = mapped_column(ForeignKey("assessments.id"))


class CommuneClassCount(Base):
    """Read model fed by household_reclassified events: households per class per commune."""

    __tablename__ = "commune_class_counts"

    commune_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    poverty_class: Mapped[str] = mapped_column(String(20), primary_key=True)
    households: Mapped[int] = mapped_column(Integer, default=0)


def as_dict(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}
