"""Partner exchange with the social insurance agency (VSS): the list of cards to issue, out;
issuance confirmations, in.

**Issue list** — ``GET /communes/{commune_code}/issue-list.csv``: one row per entitled
person without an active card, longest wait first. UTF-8, comma-separated, header row::

    citizen_pseudonym,person_id,household_id,commune_code,beneficiary_group,object_code,
    benefit_level,subsidy_percent,policy_code,valid_from,valid_to,waiting_since,due_on,overdue

``citizen_pseudonym`` is the keyed HMAC of the citizen ID (the agency holds the key to
match it), ``subsidy_percent`` the state's share of the premium, ``valid_from``/``valid_to``
the proposed validity. With ``personal_data=true`` (operators and admins only) four
columns are added — ``full_name,citizen_id,date_of_birth,sex`` — the first two read
person by person from the households API under the insurance service's identity, so
households logs each read (``personal_data_read``).

**Confirmations** — ``POST /imports/card-confirmations``: CSV (``text/csv`` or a multipart
``file``) with exactly the columns ``citizen_pseudonym,person_id,card_number,valid_from,
valid_to,issued_on`` (``person_id`` and ``issued_on`` may be empty), or the same records
as a JSON array / NDJSON. Rows are matched to persons by ``citizen_pseudonym``. An invalid
row rejects the file (422, errors by line, nothing written). Every valid row that does not
simply match is kept as a mismatch of the import (``GET /imports/card-confirmations/{id}``):
unknown_pseudonym, person_mismatch, out_of_scope, social_insurance_number_mismatch,
social_insurance_number_taken, validity_differs (not applied); duplicate_card (recorded as
a ``duplicate`` card: the person already held another active one) and no_entitlement
(recorded as an active card, so it shows on the to-revoke worklist).
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select

from services.insurance.api import SERVICE, Rules, today
from services.insurance.domain import CardNumber, parse_card_number
from services.insurance.matching import Confirmation, MismatchOut, apply_confirmation
from services.insurance.models import PartnerImport, PartnerMismatch, platform
from services.insurance.operations import Outbox
from services.insurance.queries import uncarded
from shared.auth import CurrentPrincipal, Principal, Role, authorize_read, authorize_write
from shared.bulk import (
    IMPORT_REQUEST_BODY,
    ErrorLog,
    ImportReport,
    MalformedFile,
    Record,
    SourceFormat,
    import_upload,
    record_chunks,
    rejected_import,
    validate_record,
)
from shared.outbox import append_events
from shared.problems import Forbidden, NotFound
from shared.service import Runtime, SessionDep, service_client

router = APIRouter(tags=["partner exchange"])

EXPORT_COLUMNS = (
    "citizen_pseudonym", "person_id", "household_id", "commune_code", "beneficiary_group",
    "object_code", "benefit_level", "subsidy_percent", "policy_code", "valid_from", "valid_to",
    "waiting_since", "due_on", "overdue",
)  # fmt: skip
PERSONAL_COLUMNS = ("full_name", "citizen_id", "date_of_birth", "sex")
CONFIRMATION_COLUMNS = (
    "citizen_pseudonym", "person_id", "card_number", "valid_from", "valid_to", "issued_on",
)  # fmt: skip


@router.get("/communes/{commune_code}/issue-list.csv", response_class=Response)
async def export_issue_list(
    commune_code: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
    rules: Rules,
    on: Annotated[date | None, Query(description="export day; default today")] = None,
    personal_data: Annotated[
        bool, Query(description="add name, citizen ID, birth date, sex (operators only)")
    ] = False,
) -> Response:
    """The commune's persons to issue a card to, as the CSV the agency takes."""
    authorize_read(principal, SERVICE, commune_code)
    if personal_data:
        authorize_write(principal, SERVICE, commune_code)  # only who acts for the commune
    day = on or today()
    rows = await uncarded(session, day, rules, commune_code=commune_code)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS + (PERSONAL_COLUMNS if personal_data else ()))
    personal: dict[str, dict[str, object]] = {}
    if personal_data and rows:
        personal = await _personal_data(runtime, [r.person_id for r in rows], commune_code)
    for row in rows:
        line: list[object] = [
            row.citizen_pseudonym or "", row.person_id, row.household_id, row.commune_code,
            row.group, row.object_code, row.benefit_level, row.subsidy_percent, row.policy_code,
            row.proposed_valid_from.isoformat(), row.proposed_valid_to.isoformat(),
            row.waiting_since.isoformat(), row.due_on.isoformat(), str(row.overdue).lower(),
        ]  # fmt: skip
        if personal_data:
            found = personal.get(row.person_id) or {}
            line += [found.get(name) or "" for name in PERSONAL_COLUMNS]
        writer.writerow(line)
    filename = f"issue-list-{commune_code}-{day.isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _personal_data(
    runtime: Runtime, person_ids: list[str], commune_code: str
) -> dict[str, dict[str, object]]:
    """Name, citizen ID, birth date and sex per person, read (and logged) by households."""
    client = service_client(runtime.settings, runtime.settings.households_api_url)
    purpose = f"health-insurance card issue list for VSS, commune {commune_code}"
    found: dict[str, dict[str, object]] = {}
    try:
        for person_id in person_ids:
            data = await client.get_json(f"/persons/{person_id}/personal-data", purpose=purpose)
            if data is not None:
                found[person_id] = data
    finally:
        await client.aclose()
    return found


class ConfirmationRow(BaseModel):
    """One card the agency confirms having issued."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    citizen_pseudonym: str = Field(min_length=1, max_length=80)
    person_id: str | None = Field(None, max_length=36)
    card_number: str
    valid_from: date
    valid_to: date
    issued_on: date | None = None

    @field_validator("card_number")
    @classmethod
    def _vss_format(cls, value: str) -> str:
        return str(parse_card_number(value))  # ValueError subclass: reported for the field

    @model_validator(mode="after")
    def _validity_in_order(self) -> ConfirmationRow:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class ConfirmationReport(ImportReport):
    import_id: str | None = None
    cards_recorded: int = 0
    mismatch_count: int = 0
    mismatches: list[MismatchOut] = Field(default_factory=list)


def _authorize_import(principal: Principal) -> None:
    if principal.role is Role.ADMIN:
        return
    if principal.role is not Role.OPERATOR or not principal.covers_service(SERVICE):
        raise Forbidden(f"Not authorised to import into service {SERVICE}.")


@router.post(
    "/imports/card-confirmations",
    response_model=ConfirmationReport,
    openapi_extra=IMPORT_REQUEST_BODY,
)
async def import_card_confirmations(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> ConfirmationReport:
    """Ingest the agency's issuance confirmations (CSV or JSON); every mismatch is kept."""
    _authorize_import(principal)
    started = time.monotonic()
    errors = ErrorLog()
    async with import_upload(request) as (upload, fmt):
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
                async for records in record_chunks(upload.file, fmt, columns=columns):
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
    session: SessionDep,
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
    session: SessionDep,
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


class ImportSummaryOut(BaseModel):
    import_id: str
    format: str
    submitted_by: str
    rows_read: int
    cards_recorded: int
    already_confirmed: int
    mismatch_count: int
    mismatches: list[MismatchOut]


@router.get("/imports/card-confirmations/{import_id}", response_model=ImportSummaryOut)
async def read_confirmation_import(
    import_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ImportSummaryOut:
    """A past confirmation import with every mismatch it found."""
    authorize_read(principal, SERVICE, None)
    batch = await session.get(PartnerImport, import_id)
    if batch is None:
        raise NotFound(f"confirmation import {import_id} does not exist")
    rows = await session.execute(
        select(PartnerMismatch)
        .where(PartnerMismatch.import_id == import_id)
        .order_by(PartnerMismatch.line, PartnerMismatch.id)
    )
    return ImportSummaryOut(
        import_id=batch.id,
        format=batch.format,
        submitted_by=batch.submitted_by,
        rows_read=batch.rows_read,
        cards_recorded=batch.cards_recorded,
        already_confirmed=batch.already_confirmed,
        mismatch_count=batch.mismatches,
        mismatches=[
            MismatchOut(**{name: getattr(m, name) for name in MismatchOut.model_fields})
            for m in rows.scalars()
        ],
    )
