"""Tables the housing service owns (its own database; no other service reads them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntPK, new_metadata
from shared.outbox import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


class KnownHousehold(Base):
    """What households events told this service about a household (no personal data)."""

    __tablename__ = "known_households"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    area: Mapped[str | None] = mapped_column(String(10))
    registered_on: Mapped[date | None] = mapped_column(Date)
    independent_since_year: Mapped[int | None] = mapped_column(Integer)
    current_class: Mapped[str] = mapped_column(String(20), default="unclassified")


class ClassChange(Base):
    """One class change from the households service, kept to judge list membership on a date."""

    __tablename__ = "class_changes"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(String(36), index=True)
    to_class: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date] = mapped_column(Date)
    review_id: Mapped[str | None] = mapped_column(String(36))
    basis: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[str] = mapped_column(String(36), unique=True)


class RecognisedReview(Base):
    """A commune chair's recognition of a review list (makes its class changes count)."""

    __tablename__ = "recognised_reviews"

    review_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    recognised_on: Mapped[date] = mapped_column(Date)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_commune_status", "commune_code", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(36), index=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    applied_on: Mapped[date] = mapped_column(Date)
    programme_code: Mapped[str] = mapped_column(String(20))
    house_condition: Mapped[str] = mapped_column(String(20))
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    residents: Mapped[int | None] = mapped_column(Integer)
    prior_support_year: Mapped[int | None] = mapped_column(Integer)
    prior_support_programme: Mapped[str | None] = mapped_column(String(200))
    house_destroyed_by_disaster: Mapped[bool] = mapped_column(Boolean, default=False)
    priority_flags: Mapped[dict[str, bool]] = mapped_column(JSON)
    priority_group: Mapped[int] = mapped_column(Integer)
    amount_requested: Mapped[int] = mapped_column(BigInteger)
    listed_class: Mapped[str | None] = mapped_column(String(20))
    #: eligible → listed → approved; eligible again when beyond the quota; or refused.
    status: Mapped[str] = mapped_column(String(12))
    failed_rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    list_id: Mapped[str | None] = mapped_column(ForeignKey("approval_lists.id"))
    approved_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApprovalList(Base):
    """A commune's ranked list, posted publicly, then approved within the yearly quota."""

    __tablename__ = "approval_lists"
    __table_args__ = (Index("ix_approval_lists_commune_year", "commune_code", "year"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    programme_code: Mapped[str] = mapped_column(String(20))
    posted_on: Mapped[date] = mapped_column(Date)
    posting_ends_on: Mapped[date] = mapped_column(Date)
    required_working_days: Mapped[int] = mapped_column(Integer)
    quota: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="posted")
    approved_on: Mapped[date | None] = mapped_column(Date)


class ApprovalListEntry(Base):
    __tablename__ = "list_entries"
    __table_args__ = (UniqueConstraint("list_id", "rank", name="uq_list_entries_list_rank"),)

    list_id: Mapped[str] = mapped_column(ForeignKey("approval_lists.id"), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    priority_group: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(12))  # approved | beyond_quota


class Loan(Base):
    __tablename__ = "loans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), unique=True)
    household_id: Mapped[str] = mapped_column(String(36), index=True)
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    programme_code: Mapped[str] = mapped_column(String(20))
    principal: Mapped[int] = mapped_column(BigInteger)
    annual_rate_bp: Mapped[int] = mapped_column(Integer)
    overdue_rate_percent: Mapped[int] = mapped_column(Integer)
    term_years: Mapped[int] = mapped_column(Integer)
    grace_years: Mapped[int] = mapped_column(Integer)
    min_principal_percent_per_year: Mapped[int] = mapped_column(Integer)
    approved_on: Mapped[date] = mapped_column(Date)
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="approved")


class Repayment(Base):
    __tablename__ = "repayments"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    overdue_interest_paid: Mapped[int] = mapped_column(BigInteger)
    interest_paid: Mapped[int] = mapped_column(BigInteger)
    principal_paid: Mapped[int] = mapped_column(BigInteger)


class Construction(Base):
    __tablename__ = "constructions"

    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    started_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)


def as_dict(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}
