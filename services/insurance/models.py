"""Tables the insurance service owns (its own database; no other service reads them).

``households`` and ``persons`` are this service's reading of the households events (no
names, no citizen IDs). One active card per person is a partial unique index, so the
database refuses a second one whatever the code does.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntPK, new_metadata
from shared.outbox import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


class InsuredHousehold(Base):
    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    poverty_class: Mapped[str] = mapped_column(String(20), default="unclassified")
    class_since: Mapped[date | None] = mapped_column(Date)
    class_event_id: Mapped[str | None] = mapped_column(String(36))


class InsuredPerson(Base):
    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(36), index=True)
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    citizen_pseudonym: Mapped[str | None] = mapped_column(String(80), unique=True)
    sex: Mapped[str] = mapped_column(String(10))
    date_of_birth: Mapped[date] = mapped_column(Date)
    ethnic_minority: Mapped[bool]
    social_insurance_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    added_event_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Entitlement(Base):
    """A person's entitlement in one group, from ``starts_on`` until ``ends_on`` (excluded)."""

    __tablename__ = "entitlements"
    __table_args__ = (Index("ix_entitlements_commune_starts", "commune_code", "starts_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    household_id: Mapped[str | None] = mapped_column(String(36))
    commune_code: Mapped[str] = mapped_column(String(10))
    group: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # household_event | operator
    subsidy_percent: Mapped[int] = mapped_column(Integer)
    policy_code: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    caused_by_event_id: Mapped[str | None] = mapped_column(String(36))
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    end_reason: Mapped[str | None] = mapped_column(Text)
    ended_by_event_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


_ACTIVE = text("status = 'active'")


class Card(Base):
    __tablename__ = "cards"
    __table_args__ = (
        Index(
            "uq_cards_one_active_per_person",
            "person_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_cards_status_valid_to", "status", "valid_to"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    commune_code: Mapped[str] = mapped_column(String(10), index=True)
    # Renewal in the same group keeps the number; persons.social_insurance_number is unique.
    card_number: Mapped[str] = mapped_column(String(15), index=True)
    object_code: Mapped[str] = mapped_column(String(2))
    benefit_level: Mapped[int] = mapped_column(Integer)
    province_code: Mapped[str] = mapped_column(String(2))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))  # local | partner
    entitlement_id: Mapped[str | None] = mapped_column(ForeignKey("entitlements.id"))
    entitled_since: Mapped[date | None] = mapped_column(Date)
    renewed_from_card_id: Mapped[str | None] = mapped_column(String(36))
    duplicate_of_card_id: Mapped[str | None] = mapped_column(String(36))
    partner_import_id: Mapped[str | None] = mapped_column(String(36))
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PartnerImport(Base):
    """One batch of issuance confirmations from the social insurance agency."""

    __tablename__ = "partner_imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    format: Mapped[str] = mapped_column(String(10))
    submitted_by: Mapped[str] = mapped_column(String(200))
    rows_read: Mapped[int] = mapped_column(Integer)
    cards_recorded: Mapped[int] = mapped_column(Integer)
    already_confirmed: Mapped[int] = mapped_column(Integer)
    mismatches: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class PartnerMismatch(Base):
    """A confirmation that did not simply match: kept, never dropped."""

    __tablename__ = "partner_mismatches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(ForeignKey("partner_imports.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    citizen_pseudonym: Mapped[str | None] = mapped_column(String(80))
    person_id: Mapped[str | None] = mapped_column(String(36))
    card_number: Mapped[str | None] = mapped_column(String(20))
    card_id: Mapped[str | None] = mapped_column(String(36))
