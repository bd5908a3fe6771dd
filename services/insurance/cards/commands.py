"""The card write path: issue, renew and revoke a card, and import the agency's issuance
confirmations.

Each command opens the transaction, authorises (shared.auth), applies the card rules,
changes rows and appends the events it causes to the outbox in that same transaction.
"""

from __future__ import annotations

import time
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from services.insurance.cards.changes import get_card, issue_card, renew_card, revoke_card
from services.insurance.cards.domain import CardNumber, parse_card_number
from services.insurance.cards.matching import Confirmation, apply_confirmation
from services.insurance.cards.schemas import ConfirmationReport, ConfirmationRow
from services.insurance.domain.policies import LocalRules
from services.insurance.entitlements import Outbox, get_person, rule_problems
from services.insurance.models import Card, PartnerImport, PartnerMismatch, platform
from services.insurance.schemas import CardIn, CardRenewalIn, CardRevocationIn
from services.insurance.settings import SERVICE
from shared.auth import Principal, Role, authorize_write
from shared.bulk import (
    ErrorLog,
    MalformedFile,
    Record,
    SourceFormat,
    record_chunks,
    rejected_import,
    validate_record,
)
from shared.outbox import append_events
from shared.problems import Conflict, Forbidden

CONFIRMATION_COLUMNS = (
    "citizen_pseudonym", "person_id", "card_number", "valid_from", "valid_to", "issued_on",
)  # fmt: skip


async def issue(
    session: AsyncSession, principal: Principal, body: CardIn, rules: LocalRules, today: date
) -> Card:
    """The card issued to an entitled person; 409 if they already hold an active one."""
    try:
        async with session.begin():
            person = await get_person(session, body.person_id)
            authorize_write(principal, SERVICE, person.commune_code)
            out: Outbox = []
            with rule_problems("body.valid_from"):
                card = await issue_card(
                    session,
                    person,
                    social_insurance_number=body.social_insurance_number,
                    valid_from=body.valid_from or today,
                    issued_on=body.issued_on or today,
                    rules=rules,
                    out=out,
                )
            await append_events(session, platform, out)
    except IntegrityError as exc:  # a concurrent request won: the database keeps one active card
        raise Conflict(
            f"person {body.person_id} already holds an active card, or the social insurance "
            "number belongs to another person"
        ) from exc
    return card


async def renew(
    session: AsyncSession,
    principal: Principal,
    card_id: str,
    body: CardRenewalIn,
    rules: LocalRules,
    today: date,
) -> Card:
    """The new card replacing active card ``card_id`` under the best current entitlement."""
    async with session.begin():
        card = await get_card(session, card_id)
        authorize_write(principal, SERVICE, card.commune_code)
        out: Outbox = []
        with rule_problems("body.valid_from"):
            new = await renew_card(
                session,
                card,
                valid_from=body.valid_from or today,
                issued_on=today,
                rules=rules,
                out=out,
            )
        await append_events(session, platform, out)
    return new


async def revoke(
    session: AsyncSession, principal: Principal, card_id: str, body: CardRevocationIn, today: date
) -> Card:
    """Card ``card_id`` withdrawn (an active or duplicate card found on a worklist)."""
    async with session.begin():
        card = await get_card(session, card_id)
        authorize_write(principal, SERVICE, card.commune_code)
        out: Outbox = []
        revoke_card(card, body.revoked_on or today, body.reason, out)
        await append_events(session, platform, out)
    return card


def _authorize_import(principal: Principal) -> None:
    if principal.role is Role.ADMIN:
        return
    if principal.role is not Role.OPERATOR or not principal.covers_service(SERVICE):
        raise Forbidden(f"Not authorised to import into service {SERVICE}.")


async def import_card_confirmations(
    session: AsyncSession,
    principal: Principal,
    upload: AbstractAsyncContextManager[tuple[UploadFile, SourceFormat]],
) -> ConfirmationReport:
    """Apply the agency's issuance confirmations read from ``upload``, all or nothing.

    Every mismatch is kept with the import; an invalid row rejects the file (422 naming
    the lines, nothing written).
    """
    _authorize_import(principal)
    started = time.monotonic()
    errors = ErrorLog()
    async with upload as (file, fmt):
        report = ConfirmationReport(unit="confirmation", format=fmt, import_id=str(uuid.uuid4()))
        columns = CONFIRMATION_COLUMNS if fmt is SourceFormat.CSV else None
        transaction = await session.begin()
        try:
            batch = PartnerImport(
                id=report.import_id, format=fmt.value, submitted_by=principal.subject,
                rows_read=0, cards_recorded=0, already_confirmed=0, mismatches=0,
            )  # fmt: skip
            session.add(batch)
            out: Outbox = []
            try:
                async for records in record_chunks(file.file, fmt, columns=columns):
                    await _apply_records(session, principal, batch, records, report, errors, out)
            except MalformedFile as exc:
                errors.add(exc.line, None, exc.message)
            if errors:
                await transaction.rollback()
            else:
                batch.rows_read = report.rows_read
                batch.cards_recorded = report.cards_recorded
                batch.already_confirmed = report.skipped_existing
                batch.mismatches = report.mismatch_count
                await append_events(session, platform, out)
                await transaction.commit()
        except BaseException:
            await transaction.rollback()
            raise
    report.duration_seconds = round(time.monotonic() - started, 3)
    if errors:
        report.imported = report.cards_recorded = 0
        errors.fill(report)
        raise rejected_import(report)
    report.imported = report.cards_recorded
    return report


async def _apply_records(
    session: AsyncSession,
    principal: Principal,
    batch: PartnerImport,
    records: list[Record],
    report: ConfirmationReport,
    errors: ErrorLog,
    out: Outbox,
) -> None:
    for record in records:
        report.rows_read += 1
        row = validate_record(ConfirmationRow, record, errors)
        if row is None:
            report.rejected += 1
            continue
        report.accepted += 1
        if not errors:  # once the file is rejected, the rest is only checked
            await _apply(session, principal, batch, record.line, row, report, out)


async def _apply(
    session: AsyncSession,
    principal: Principal,
    batch: PartnerImport,
    line: int,
    row: ConfirmationRow,
    report: ConfirmationReport,
    out: Outbox,
) -> None:
    number: CardNumber = parse_card_number(row.card_number)
    confirmation = Confirmation(
        line=line, citizen_pseudonym=row.citizen_pseudonym, person_id=row.person_id,
        card_number=number, valid_from=row.valid_from, valid_to=row.valid_to,
        issued_on=row.issued_on or row.valid_from,
    )  # fmt: skip
    outcome = await apply_confirmation(session, principal, batch.id, confirmation, out)
    if outcome.card_recorded:
        report.cards_recorded += 1
    if outcome.already_confirmed:
        report.skipped_existing += 1
    if outcome.mismatch is not None:
        report.mismatch_count += 1
        report.mismatches.append(outcome.mismatch)
        session.add(PartnerMismatch(import_id=batch.id, **outcome.mismatch.model_dump()))
