"""Bulk import of placements and enrolments: ``POST /imports/placements``, ``/imports/enrolments``.

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
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.domain import PlacementPeriod
from services.employment.models import Enrolment, Placement
from services.employment.operations import authorize_writer, enrol_worker, place_worker, policy
from services.employment.schemas import EnrolmentIn, PlacementIn
from shared.auth import CurrentPrincipal, Principal
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
from shared.observability import get_logger
from shared.problems import Problem
from shared.service import Runtime, SessionDep

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
router = APIRouter(tags=["imports"])
_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "the file is larger than the import limit"},
    415: {"description": "not CSV, JSON or NDJSON"},
    422: {"description": "invalid rows, nothing imported: see `report`"},
}


class PlacementRow(PlacementIn):
    external_ref: str = Field(min_length=1, max_length=64, description="makes re-runs safe")


class EnrolmentRow(EnrolmentIn):
    course_id: str = Field(min_length=1, max_length=36)


#: What one valid row does; True if written, False if it was already there (skipped).
ApplyRow = Callable[[AsyncSession, BaseModel], Awaitable[bool]]


def _field_of(problem: Problem, default: str, rename: dict[str, str]) -> str:
    """The file column a problem from the operations layer is about."""
    errors = problem.extra.get("errors") or []
    path = errors[0]["field"] if errors else None
    if path is None and problem.detail and problem.detail.startswith("body."):
        path = problem.detail.split(":", 1)[0]
    name = (path or default).removeprefix("body.")
    return rename.get(name, name)


async def _apply_file(
    session: AsyncSession,
    records: Any,
    *,
    model: type[BaseModel],
    apply_row: ApplyRow,
    default_field: str,
    rename: dict[str, str],
    report: ImportReport,
    errors: ErrorLog,
) -> None:
    """Validate and apply every record, each in a savepoint; errors go to ``errors``."""
    async for chunk in records:
        report.rows_read += len(chunk)
        for record in chunk:
            row = _validated(model, record, errors, rename)
            if row is None:
                report.rejected += 1
                continue
            try:
                async with session.begin_nested():
                    written = await apply_row(session, row)
            except Problem as problem:
                errors.add(
                    record.line, _field_of(problem, default_field, rename), problem.detail or ""
                )
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


def _validated(
    model: type[BaseModel], record: Record, errors: ErrorLog, rename: dict[str, str]
) -> BaseModel | None:
    inverse = {column: name for name, column in rename.items()}
    if record.data is not None:
        record = Record(record.line, {inverse.get(k, k): v for k, v in record.data.items()})
    return validate_record(model, record, errors, **rename)


async def _run_import(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    unit: str,
    columns: tuple[str, ...],
    model: type[BaseModel],
    apply_row: ApplyRow,
    default_field: str,
    rename: dict[str, str],
    dry_run: bool,
) -> ImportReport:
    authorize_writer(principal)
    started = time.monotonic()
    async with import_upload(request) as (upload, fmt):
        report = ImportReport(unit=unit, format=fmt, dry_run=dry_run)
        errors = ErrorLog()
        chunks = record_chunks(
            upload.file, fmt, columns=columns if fmt is SourceFormat.CSV else None, size=CHUNK_ROWS
        )
        transaction = await session.begin()
        try:
            await _apply_file(
                session,
                chunks,
                model=model,
                apply_row=apply_row,
                default_field=default_field,
                rename=rename,
                report=report,
                errors=errors,
            )
        except MalformedFile as exc:
            errors.add(exc.line, None, exc.message)
        except BaseException:
            await transaction.rollback()
            raise
        if errors or dry_run:
            await transaction.rollback()
            report.imported = 0
        else:
            await transaction.commit()
    report.duration_seconds = round(time.monotonic() - started, 3)
    if errors:
        errors.fill(report)
        raise rejected_import(report)
    log.info(
        "employment.import.completed",
        unit=unit,
        rows=report.rows_read,
        imported=report.imported,
        skipped_existing=report.skipped_existing,
        dry_run=dry_run,
    )
    return report


DryRun = Annotated[bool, Query(description="check every row, then write nothing")]


@router.post(
    "/imports/placements",
    response_model=ImportReport,
    openapi_extra=IMPORT_REQUEST_BODY,
    responses=_RESPONSES,
)
async def import_placements(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
    dry_run: DryRun = False,
) -> ImportReport:
    """Record placements from a file: all rows valid or nothing written."""
    period = PlacementPeriod(policy(runtime).placement_period)

    async def place(session: AsyncSession, row: BaseModel) -> bool:
        assert isinstance(row, PlacementRow)
        known = await session.execute(
            select(Placement.id).where(Placement.external_ref == row.external_ref)
        )
        if known.first() is not None:
            return False
        await place_worker(session, principal, row, period)
        return True

    return await _run_import(
        request,
        session,
        principal,
        unit="placement",
        columns=PLACEMENT_COLUMNS,
        model=PlacementRow,
        apply_row=place,
        default_field="worker_id",
        rename={"external_ref": "placement_ref"},
        dry_run=dry_run,
    )


@router.post(
    "/imports/enrolments",
    response_model=ImportReport,
    openapi_extra=IMPORT_REQUEST_BODY,
    responses=_RESPONSES,
)
async def import_enrolments(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    dry_run: DryRun = False,
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

    return await _run_import(
        request,
        session,
        principal,
        unit="enrolment",
        columns=ENROLMENT_COLUMNS,
        model=EnrolmentRow,
        apply_row=enrol,
        default_field="course_id",
        rename={},
        dry_run=dry_run,
    )
