"""Bulk import of placements and enrolments (``POST /imports/placements``, ``/imports/enrolments``).

The file comes as the multipart field ``file`` or as the body itself (``text/csv``,
``application/json``, ``application/x-ndjson``); see :mod:`shared.bulk`. CSV columns:
:data:`PLACEMENT_COLUMNS` and :data:`ENROLMENT_COLUMNS` (any order; an empty cell is a
missing value). JSON objects carry the same fields.

Every row goes through the same operation as the single-record API (worker known, the
caller's commune, course capacity, repeat placements flagged), in ONE transaction with a
savepoint per row, so a row sees the rows before it (the 11th enrolment in a 10-seat course
is refused). If any row is wrong nothing is written: 422 whose ``report`` lists the errors
by line and field. A dry run does everything and then rolls back (200 with the report).

Re-running a file is safe: a placement whose ``placement_ref`` is already recorded, or an
enrolment of a worker already in that course, is skipped and counted in
``skipped_existing``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
from starlette.datastructures import UploadFile

from services.employment.commands.checks import authorize_writer
from services.employment.commands.placements import place_worker, placement_period
from services.employment.commands.training import enrol_worker
from services.employment.models import Enrolment, Placement
from services.employment.schemas import EnrolmentIn, EnrolmentRow, PlacementRow
from services.employment.settings import EmploymentSettings
from shared.auth import Principal
from shared.bulk import (
    ErrorLog,
    ImportReport,
    MalformedFile,
    Record,
    SourceFormat,
    record_chunks,
    rejected_import,
    validate_record,
)
from shared.observability import get_logger
from shared.problems import Problem

PLACEMENT_COLUMNS = (
    "placement_ref",
    "worker_id",
    "kind",
    "placed_on",
    "employer",
    "destination_country",
    "monthly_wage",
)
ENROLMENT_COLUMNS = ("course_id", "worker_id", "enrolled_on")
CHUNK_ROWS = 500

log = get_logger(__name__)

#: The uploaded file and its format, opened only once the caller may write (shared.bulk).
Upload = AbstractAsyncContextManager[tuple[UploadFile, SourceFormat]]
#: What one valid row does; True if written, False if it was already there (skipped).
ApplyRow = Callable[[AsyncSession, BaseModel], Awaitable[bool]]


@dataclass(frozen=True)
class FileKind:
    """What a file of one kind holds: its unit, columns and rows, how errors name fields."""

    unit: str
    columns: tuple[str, ...]
    model: type[BaseModel]
    default_field: str
    rename: dict[str, str]


PLACEMENTS = FileKind(
    "placement", PLACEMENT_COLUMNS, PlacementRow, "worker_id", {"external_ref": "placement_ref"}
)
ENROLMENTS = FileKind("enrolment", ENROLMENT_COLUMNS, EnrolmentRow, "course_id", {})


async def import_placements(
    session: AsyncSession,
    principal: Principal,
    upload: Upload,
    policy: EmploymentSettings,
    *,
    dry_run: bool,
) -> ImportReport:
    """Record placements from a file: all rows valid or nothing written (422 with the report)."""
    period = placement_period(policy)

    async def place(session: AsyncSession, row: BaseModel) -> bool:
        assert isinstance(row, PlacementRow)
        known = await session.execute(
            select(Placement.id).where(Placement.external_ref == row.external_ref)
        )
        if known.first() is not None:
            return False
        await place_worker(session, principal, row, period)
        return True

    return await _run_import(session, principal, upload, PLACEMENTS, place, dry_run=dry_run)


async def import_enrolments(
    session: AsyncSession, principal: Principal, upload: Upload, *, dry_run: bool
) -> ImportReport:
    """Enrol workers in courses from a file: all rows valid or nothing written."""

    async def enrol(session: AsyncSession, row: BaseModel) -> bool:
        assert isinstance(row, EnrolmentRow)
        body = EnrolmentIn(worker_id=row.worker_id, enrolled_on=row.enrolled_on)
        known = await session.execute(
            select(Enrolment.id).where(
                Enrolment.course_id == row.course_id, Enrolment.worker_id == row.worker_id
            )
        )
        if known.first() is not None:
            return False
        await enrol_worker(session, principal, row.course_id, body)
        return True

    return await _run_import(session, principal, upload, ENROLMENTS, enrol, dry_run=dry_run)


async def _run_import(
    session: AsyncSession,
    principal: Principal,
    upload: Upload,
    kind: FileKind,
    apply_row: ApplyRow,
    *,
    dry_run: bool,
) -> ImportReport:
    """The report of a whole file applied in one transaction; a 422 problem if a row failed."""
    authorize_writer(principal)
    started = time.monotonic()
    async with upload as (file, fmt):
        report = ImportReport(unit=kind.unit, format=fmt, dry_run=dry_run)
        errors = ErrorLog()
        chunks = record_chunks(
            file.file,
            fmt,
            columns=kind.columns if fmt is SourceFormat.CSV else None,
            size=CHUNK_ROWS,
        )
        transaction = await session.begin()
        try:
            await _apply_file(session, chunks, kind, apply_row, report=report, errors=errors)
        except MalformedFile as exc:
            errors.add(exc.line, None, exc.message)
        except BaseException:
            await transaction.rollback()
            raise
        await _finish(transaction, report, keep=not (errors or dry_run))
    report.duration_seconds = round(time.monotonic() - started, 3)
    if errors:
        errors.fill(report)
        raise rejected_import(report)
    log.info(
        "employment.import.completed",
        unit=kind.unit,
        rows=report.rows_read,
        imported=report.imported,
        skipped_existing=report.skipped_existing,
        dry_run=dry_run,
    )
    return report


async def _finish(
    transaction: AsyncSessionTransaction, report: ImportReport, *, keep: bool
) -> None:
    """Commit the whole file, or (errors found, or a dry run) roll it all back."""
    if keep:
        await transaction.commit()
    else:
        await transaction.rollback()
        report.imported = 0


async def _apply_file(
    session: AsyncSession,
    records: Any,
    kind: FileKind,
    apply_row: ApplyRow,
    *,
    report: ImportReport,
    errors: ErrorLog,
) -> None:
    """Validate and apply every record, each in a savepoint; errors go to ``errors``."""
    async for chunk in records:
        report.rows_read += len(chunk)
        for record in chunk:
            row = _validated(kind.model, record, errors, kind.rename)
            if row is None:
                report.rejected += 1
                continue
            try:
                async with session.begin_nested():
                    written = await apply_row(session, row)
            except Problem as problem:
                field = _field_of(problem, kind.default_field, kind.rename)
                errors.add(record.line, field, problem.detail or "")
                report.rejected += 1
                continue
            except IntegrityError:
                errors.add(record.line, None, "clashes with a record written meanwhile; retry")
                report.rejected += 1
                continue
            report.accepted += 1
            report.imported += written
            report.skipped_existing += not written
        session.expunge_all()  # flushed already; a long import must not keep every row


def _field_of(problem: Problem, default: str, rename: dict[str, str]) -> str:
    """The file column a problem from the single-record commands is about."""
    errors = problem.extra.get("errors") or []
    path = errors[0]["field"] if errors else None
    if path is None and problem.detail and problem.detail.startswith("body."):
        path = problem.detail.split(":", 1)[0]
    name = (path or default).removeprefix("body.")
    return rename.get(name, name)


def _validated(
    model: type[BaseModel], record: Record, errors: ErrorLog, rename: dict[str, str]
) -> BaseModel | None:
    inverse = {column: name for name, column in rename.items()}
    if record.data is not None:
        record = Record(record.line, {inverse.get(k, k): v for k, v in record.data.items()})
    return validate_record(model, record, errors, **rename)
