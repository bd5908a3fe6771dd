"""Tables the employment service owns (its own database; no other service reads them).

``known_households``, ``household_classes`` and ``known_persons`` are the local projection
of the households service's events: enough to register workers and keep their priority
flags current, without personal data (that is read from the households API when needed).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntPK, new_metadata
from shared.outbox import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


class AdminUnitRow(Base):
    """A province, district or commune with the dates it existed (reference data)."""

    __tablename__ = "admin_units"
    __table_args__ = (Index("ix_admin_units_code", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(10), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class KnownHousehold(Base):
    """What the households service told us about a household (from its events)."""

    __tablename__ = "known_households"

    household_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    area: Mapped[str | None] = mapped_column(String(10))
    poverty_class: Mapped[str] = mapped_column(String(20), default="unclassified")
    class_since: Mapped[date | None] = mapped_column(Date)


class HouseholdClassChange(Base):
    """One recognised class of a household from its effective date (history, for targets)."""

    __tablename__ = "household_classes"
    __table_args__ = (Index("ix_household_classes_household", "household_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(String(36))
    effective_date: Mapped[date] = mapped_column(Date)
    poverty_class: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(36), unique=True)


class KnownPerson(Base):
    """A household member as published by the households service (no name, no citizen ID)."""

    __tablename__ = "known_persons"

    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(36), index=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    ethnic_minority: Mapped[bool] = mapped_column(Boolean)


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), unique=True)
    household_id: Mapped[str] = mapped_column(String(36), index=True)
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    registered_on: Mapped[date] = mapped_column(Date)
    household_class: Mapped[str] = mapped_column(String(20))
    poor_household: Mapped[bool] = mapped_column(Boolean)
    near_poor_household: Mapped[bool] = mapped_column(Boolean)
    ethnic_minority: Mapped[bool] = mapped_column(Boolean)
    rural_worker: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Course(Base):
    """A vocational training course; ``seats_taken`` is the capacity counter."""

    __tablename__ = "courses"
    __table_args__ = (Index("ix_courses_commune_start", "commune_code", "starts_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    trade: Mapped[str] = mapped_column(String(120))
    provider: Mapped[str] = mapped_column(String(200))
    commune_code: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    cost_per_trainee: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("course_id", "worker_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("workers.id"), index=True)
    # Where the worker lives: targets count trainees by home commune, not course venue.
    worker_commune_code: Mapped[str] = mapped_column(String(10), index=True)
    enrolled_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="enrolled")
    completed_on: Mapped[date | None] = mapped_column(Date)
    certificate_number: Mapped[str | None] = mapped_column(String(60))
    dropped_on: Mapped[date | None] = mapped_column(Date)
    drop_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Placement(Base):
    __tablename__ = "placements"
    __table_args__ = (Index("ix_placements_worker_period", "worker_id", "period"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("workers.id"))
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    placed_on: Mapped[date] = mapped_column(Date)
    employer: Mapped[str | None] = mapped_column(String(200))
    destination_country: Mapped[str | None] = mapped_column(String(2))
    monthly_wage: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(7))
    first_placement_id: Mapped[str | None] = mapped_column(String(36))
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Target(Base):
    """A year's plan for a district or commune."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("year", "unit_code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(String(10))
    unit_level: Mapped[str] = mapped_column(String(10))
    placements: Mapped[int | None] = mapped_column(Integer)
    trainees: Mapped[int | None] = mapped_column(Integer)
    rural_trainees: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
