"""Bulk import: read a CSV, JSON or NDJSON upload a record at a time, validate, report.

Every service's ``POST /imports/...`` endpoint works the same way:

* :func:`import_upload` takes the request as sent — a multipart form with a ``file``
  field, or a raw body with ``Content-Type: text/csv``, ``application/json`` or
  ``application/x-ndjson`` — and gives back the file spooled to disk (Starlette's
  ``UploadFile``, memory use capped at 1 MB) with its :class:`SourceFormat`. A raw body
  is spooled too, so the file can be read more than once (validate, then import).
* :func:`record_chunks` reads it again from the start, a chunk of :class:`Record` at a
  time, parsing in a worker thread; the whole file is never in memory. CSV is UTF-8
  with or without a BOM and a header row; JSON is an array of objects, parsed
  incrementally with ``ijson``, or NDJSON (one object per line). ``application/json``
  accepts both, told apart by the first character (``[`` or ``{``).
* :class:`ErrorLog` collects ``{"line", "field", "message"}`` errors — ``line`` is the
  physical line (CSV, NDJSON; 1-based, the header is line 1) or the element index of a
  JSON array (0-based) — keeping the first ``limit`` and counting all of them.
* :class:`ImportReport` is what the endpoint answers; :func:`rejected_import` is the
  422 problem (report in its ``report`` member) when any record was invalid.
* :class:`ImportScope` is who may import: the request as a whole, then each record's
  commune (a record of a commune the caller may not write is a record error).
* :func:`scalars_where_in` and :func:`column_values` read and write a chunk of records
  in a few statements: one ``IN (...)`` query per chunk, one multi-row ``INSERT``.
* :func:`two_pass_import` is an import endpoint's body: validate the whole file (422 and
  nothing written if anything is wrong; a dry run stops there), then write it a chunk at a
  time with :func:`write_chunks` (409 if a chunk clashes with a change made meanwhile).
"""

from __future__ import annotations

import codecs
import csv
import json
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import PurePath
from tempfile import SpooledTemporaryFile
from typing import Annotated, Any, BinaryIO, TypeVar, cast

import ijson
from fastapi import Query
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.requests import Request

from shared.auth import Principal, Role, authorize_write
from shared.inputs import COMMUNE_CODE_PATTERN
from shared.observability import get_logger, progress_logger
from shared.problems import Conflict, Forbidden, Problem, problem_responses

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
log = get_logger(__name__)

#: Errors listed in a report; the count beyond stays exact.
ERROR_LIMIT = 1000
#: Bytes of an upload kept in memory before it is spooled to disk.
SPOOL_MEMORY_BYTES = 1 << 20
#: Values per ``IN (...)`` list, within every database's limit of bound parameters.
IN_LIST_VALUES = 1000
_BOM = codecs.BOM_UTF8


class SourceFormat(StrEnum):
    CSV = "csv"
    JSON = "json"  # an array of objects
    NDJSON = "ndjson"  # one object per line


_MEDIA_TYPES = {
    "text/csv": SourceFormat.CSV,
    "application/csv": SourceFormat.CSV,
    "application/json": SourceFormat.JSON,
    "application/x-ndjson": SourceFormat.NDJSON,
    "application/ndjson": SourceFormat.NDJSON,
    "application/jsonl": SourceFormat.NDJSON,
    "application/x-jsonlines": SourceFormat.NDJSON,
}
_EXTENSIONS = {
    ".csv": SourceFormat.CSV,
    ".json": SourceFormat.JSON,
    ".ndjson": SourceFormat.NDJSON,
    ".jsonl": SourceFormat.NDJSON,
}

#: ``openapi_extra`` of an import route: the request bodies it accepts.
IMPORT_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


#: ``responses`` of an import route.
IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(400, 403, 409),
    413: {"description": "the file is larger than the import limit"},
    415: {"description": "not CSV, JSON or NDJSON"},
    422: {"description": "invalid rows, nothing imported: see `report`"},
}
#: The query parameters of an import route.
DryRun = Annotated[bool, Query(description="validate only; write nothing")]
OnlyCommune = Annotated[
    str | None,
    Query(pattern=COMMUNE_CODE_PATTERN, description="reject rows of any other commune"),
]


class MalformedFile(Exception):
    """The file cannot be read past ``line`` (bad encoding, broken CSV quoting or JSON)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Record:
    """One record of the file: its fields, or why it could not be read (``problem``)."""

    line: int
    data: dict[str, Any] | None
    problem: str | None = None


class RowError(BaseModel):
    line: int = Field(description="physical line (CSV, NDJSON) or element index (JSON array)")
    field: str | None = Field(description="column or field path; null for the whole record")
    message: str


class ImportReport(BaseModel):
    """What an import read, accepted, wrote and skipped, with the errors found."""

    unit: str = Field("record", description="what accepted/rejected/imported/skipped count")
    format: SourceFormat | None = None
    rows_read: int = Field(0, description="records read from the file (CSV rows, JSON objects)")
    accepted: int = Field(0, description="units that passed validation")
    rejected: int = Field(0, description="units with at least one error")
    imported: int = Field(0, description="units written (0 in a dry run or when any was rejected)")
    skipped_existing: int = Field(0, description="accepted units already present, left unchanged")
    error_count: int = Field(0, description="all errors found, listed or not")
    errors: list[RowError] = Field(default_factory=list, description=f"the first {ERROR_LIMIT}")
    truncated_errors: bool = Field(False, description="more errors were found than are listed")
    dry_run: bool = False
    duration_seconds: float = 0.0


class ErrorLog:
    """Errors of one import: the first ``limit`` kept, all counted."""

    def __init__(self, limit: int = ERROR_LIMIT) -> None:
        self.limit = limit
        self.count = 0
        self.kept: list[RowError] = []

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, line: int, field: str | None, message: str) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(RowError(line=line, field=field, message=message))

    def add_validation(
        self,
        line: int,
        error: ValidationError,
        *,
        prefix: str = "",
        rename: Mapping[str, str] | None = None,
    ) -> None:
        """One entry per pydantic error; ``rename`` maps model field names to file columns."""
        for detail in error.errors(include_url=False, include_input=False):
            path = [str(part) for part in detail["loc"]]
            if path and rename:
                path[0] = rename.get(path[0], path[0])
            field = prefix + ".".join(path) if path else None
            self.add(line, field, _plain_message(detail["msg"]))

    def fill(self, report: ImportReport) -> None:
        """Copy the errors (by line) and their count into ``report``."""
        report.error_count = self.count
        report.errors = sorted(self.kept, key=lambda e: e.line)
        report.truncated_errors = self.count > len(self.kept)


def _plain_message(message: str) -> str:
    # pydantic prefixes messages of custom validators; the user needs only the reason.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def validate_record(model: type[M], record: Record, errors: ErrorLog, **rename: str) -> M | None:
    """``record`` as a ``model``, or None after logging why it is not one."""
    if record.data is None:
        errors.add(record.line, None, record.problem or "unreadable record")
        return None
    try:
        return model.model_validate(record.data)
    except ValidationError as exc:
        errors.add_validation(record.line, exc, rename=rename)
        return None


def rejected_import(report: ImportReport) -> Problem:
    """The 422 problem of an import that found errors; the report is its ``report`` member."""
    detail = "nothing was imported"
    if report.rejected:
        total = report.accepted + report.rejected
        detail = f"{report.rejected} of {total} {report.unit}s are invalid; {detail}"
    if report.errors:
        first = report.errors[0]
        where = f"line {first.line}" + (f", {first.field}" if first.field else "")
        more = f" (and {report.error_count - 1} more)" if report.error_count > 1 else ""
        detail += f". {where}: {first.message}{more}"
    return Problem(422, detail=detail, extra={"report": report.model_dump(mode="json")})


# ------------------------------------------------------------------------- who may import


@dataclass
class ImportScope:
    """Who imports ``what`` (e.g. "households") into ``service``, and whether each record's
    commune is one they may write (and is ``commune_code`` when the import is restricted)."""

    principal: Principal
    service: str
    what: str
    commune_code: str | None = None
    _refusals: dict[str, str | None] = field(default_factory=dict, repr=False)

    def authorize(self) -> None:
        """403 unless the caller may import at all (into the restricted commune, if any)."""
        principal = self.principal
        if self.commune_code is not None:
            authorize_write(principal, self.service, self.commune_code)
        elif principal.role not in (Role.ADMIN, Role.OPERATOR):
            raise Forbidden(f"Role {principal.role} may not make changes.")
        elif principal.role is Role.OPERATOR and not principal.covers_service(self.service):
            raise Forbidden(f"Not authorised to act in service {self.service}.")

    def refusal(self, commune: str) -> str | None:
        """Why a record of ``commune`` may not be imported, or None (cached per commune)."""
        if commune not in self._refusals:
            message = None
            if self.commune_code is not None and commune != self.commune_code:
                message = f"this import is restricted to commune {self.commune_code}"
            else:
                try:
                    authorize_write(self.principal, self.service, commune)
                except Forbidden:
                    message = f"not authorised to import {self.what} of commune {commune}"
            self._refusals[commune] = message
        return self._refusals[commune]


# -------------------------------------------------------------------------- two passes

#: The validation pass: every record checked, errors logged, counts in the report.
ValidatePass = Callable[[UploadFile, SourceFormat, ErrorLog, ImportReport], Awaitable[None]]
#: The import pass (runs only when the validation found nothing wrong).
ImportPass = Callable[[UploadFile, SourceFormat, ImportReport], Awaitable[None]]


async def two_pass_import(
    request: Request,
    *,
    task: str,
    unit: str,
    dry_run: bool,
    validate: ValidatePass,
    write: ImportPass,
) -> ImportReport:
    """Read the uploaded file, ``validate`` it all, then ``write`` it unless a dry run.

    Any error in the validation: the 422 of :func:`rejected_import`, nothing written.
    ``task`` names the log events (``<task>.completed``)."""
    started = time.monotonic()
    async with import_upload(request) as (upload, fmt):
        report = ImportReport(unit=unit, format=fmt, dry_run=dry_run)
        errors = ErrorLog()
        await validate(upload, fmt, errors, report)
        if errors:
            errors.fill(report)
            report.duration_seconds = round(time.monotonic() - started, 3)
            raise rejected_import(report)
        if not dry_run:
            await write(upload, fmt, report)
    report.duration_seconds = round(time.monotonic() - started, 3)
    log.info(
        f"{task}.completed",
        format=str(fmt),
        rows=report.rows_read,
        imported=report.imported,
        skipped_existing=report.skipped_existing,
        dry_run=dry_run,
        seconds=report.duration_seconds,
    )
    return report


async def write_chunks(
    chunks: AsyncGenerator[Sequence[T], None],
    write: Callable[[Sequence[T]], Awaitable[int]],
    report: ImportReport,
    errors: ErrorLog,
    *,
    task: str,
    line_of: Callable[[T], int],
    clashes: tuple[type[Exception], ...],
) -> None:
    """The import pass: ``write`` each chunk (it answers how many it wrote; the others were
    there already), with progress logged as ``task``.

    ``errors`` are those of reading the file again: after a validation that found none
    there cannot be any, so one is a bug. A chunk whose write raises one of ``clashes``
    (a change made since the validation) ends the import with 409; the chunks before it
    stay written, and running the file again completes the import."""
    report.skipped_existing = 0
    with progress_logger(task, every=10_000) as progress:
        async with aclosing(chunks):
            async for chunk in chunks:
                try:
                    written = await write(chunk)
                except clashes as exc:
                    raise _interrupted(line_of(chunk[0]), report, exc) from exc
                report.imported += written
                report.skipped_existing += len(chunk) - written
                progress.advance(len(chunk))
    if errors:
        raise RuntimeError(f"the file read differently in the import pass: {errors.kept[0]}")


def _interrupted(line: int, report: ImportReport, exc: Exception) -> Conflict:
    why = exc.detail if isinstance(exc, Problem) else "a record was written meanwhile"
    return Conflict(
        f"the chunk starting at line {line} clashes with a change made since the validation "
        f"({why}); {report.imported} {report.unit}s were imported before it. Run the file "
        f"again: {report.unit}s already imported are skipped.",
        extra={"report": report.model_dump(mode="json")},
    )


# ---------------------------------------------------------------------------- database


async def scalars_where_in(
    session: AsyncSession,
    statement: Select[Any],
    column: InstrumentedAttribute[Any],
    values: Collection[Any],
) -> list[Any]:
    """What ``statement`` selects where ``column`` is one of ``values``: one query per
    :data:`IN_LIST_VALUES` values (none when there are no values)."""
    distinct = list(dict.fromkeys(values))
    found: list[Any] = []
    for start in range(0, len(distinct), IN_LIST_VALUES):
        part = distinct[start : start + IN_LIST_VALUES]
        found.extend((await session.execute(statement.where(column.in_(part)))).scalars())
    return found


def column_values(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Column values of new ORM objects of one table, for a multi-row ``insert(Model)``
    (much faster than ``add_all``); unset server defaults (created_at) are left out."""
    columns = rows[0].__table__.columns
    return [
        {
            c.key: value
            for c in columns
            if (value := getattr(row, c.key)) is not None or c.server_default is None
        }
        for row in rows
    ]


# ----------------------------------------------------------------------------- reading


def read_records(
    file: BinaryIO,
    fmt: SourceFormat,
    *,
    columns: Collection[str] | None = None,
    optional: Collection[str] = (),
) -> Generator[Record, None, None]:
    """The records of ``file`` from its current position, one at a time.

    ``columns`` (CSV only): the header must name these, in any order, and may name those
    of ``optional`` besides; nothing else. Empty CSV
    cells are left out of a record, so a required field reads as missing and an optional
    one takes its default. Raises :class:`MalformedFile` where reading cannot go on.
    """
    if fmt is SourceFormat.CSV:
        return _read_csv(file, columns, optional)
    if fmt is SourceFormat.NDJSON:
        return _read_ndjson(file)
    return _read_json_array(file)


def _decoded_lines(file: BinaryIO) -> Iterator[str]:
    # Split on b"\n" before decoding (no UTF-8 sequence contains that byte), so a
    # decoding error names its own line.
    for number, raw in enumerate(file, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"not valid UTF-8 (byte {exc.start + 1} of the line)"
            raise MalformedFile(number, message) from None


def _read_csv(
    file: BinaryIO, columns: Collection[str] | None, optional: Collection[str]
) -> Generator[Record, None, None]:
    reader = csv.reader(_decoded_lines(file))
    header = [name.strip() for name in _next_csv_row(reader, 1) or []]
    if not header:
        raise MalformedFile(1, "the file is empty: a header row naming the columns comes first")
    _check_header(header, columns, optional)
    while True:
        line = reader.line_num + 1
        cells = _next_csv_row(reader, line)
        if cells is None:
            return
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield Record(line, None, f"the row has {len(cells)} cells, the header {len(header)}")
            continue
        yield Record(
            line, {name: cell for name, cell in zip(header, cells, strict=True) if cell.strip()}
        )


def _next_csv_row(reader: Any, line: int) -> list[str] | None:
    try:
        row: list[str] = next(reader)
        return row
    except StopIteration:
        return None
    except csv.Error as exc:
        raise MalformedFile(line, f"not valid CSV: {exc}") from None


def _check_header(
    header: Sequence[str], columns: Collection[str] | None, optional: Collection[str]
) -> None:
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise MalformedFile(1, f"columns named twice: {', '.join(duplicated)}")
    if columns is None:
        return
    known = list(dict.fromkeys([*columns, *optional]))
    missing = [name for name in columns if name not in header]
    unknown = [name for name in header if name not in known]
    if missing or unknown:
        parts = ([f"missing columns: {', '.join(missing)}"] if missing else []) + (
            [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        )
        raise MalformedFile(1, "; ".join(parts) + f" (expected: {', '.join(known)})")


def _read_ndjson(file: BinaryIO) -> Generator[Record, None, None]:
    for number, raw in enumerate(file, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except UnicodeDecodeError:
            yield Record(number, None, "not valid UTF-8")
            continue
        except json.JSONDecodeError as exc:
            yield Record(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        yield _object_record(number, value)


def _read_json_array(file: BinaryIO) -> Generator[Record, None, None]:
    if file.read(len(_BOM)) != _BOM:
        file.seek(0)
    index = 0
    try:
        for value in ijson.items(file, "item", use_float=True):
            yield _object_record(index, value)
            index += 1
    except ijson.JSONError as exc:
        raise MalformedFile(index, f"not valid JSON at element {index}: {exc}") from None


def _object_record(line: int, value: Any) -> Record:
    if not isinstance(value, dict):
        return Record(line, None, f"expected a JSON object, got {type(value).__name__}")
    return Record(line, value)


def _take(records: Iterator[Record], size: int) -> tuple[list[Record], MalformedFile | None]:
    chunk: list[Record] = []
    try:
        chunk.extend(islice(records, size))
    except MalformedFile as exc:
        return chunk, exc
    return chunk, None


async def record_chunks(
    file: BinaryIO,
    fmt: SourceFormat,
    *,
    columns: Collection[str] | None = None,
    optional: Collection[str] = (),
    size: int = 500,
) -> AsyncIterator[list[Record]]:
    """Lists of up to ``size`` records of the whole of ``file`` (rewound first); ``columns``
    and ``optional`` as :func:`read_records` takes them.

    Parsing runs in a worker thread, so the event loop keeps serving other requests;
    the records before a :class:`MalformedFile` are yielded before it is raised.
    """
    await run_in_threadpool(file.seek, 0)
    records = read_records(file, fmt, columns=columns, optional=optional)
    try:
        while True:
            chunk, failure = await run_in_threadpool(_take, records, size)
            if chunk:
                yield chunk
            if failure is not None:
                raise failure
            if len(chunk) < size:
                return
    finally:
        records.close()


# ------------------------------------------------------------------------------ upload


def _format_of(media_type: str | None, filename: str | None) -> SourceFormat | None:
    base = (media_type or "").split(";")[0].strip().lower()
    if base in _MEDIA_TYPES:
        return _MEDIA_TYPES[base]
    return _EXTENSIONS.get(PurePath(filename).suffix.lower()) if filename else None


async def _json_flavour(upload: UploadFile) -> SourceFormat:
    """JSON array or NDJSON, by the first character that is not a BOM or white space."""
    first = b""
    while chunk := await upload.read(4096):
        first = chunk.lstrip(_BOM + b" \t\r\n")
        if first:
            break
    await upload.seek(0)
    return SourceFormat.JSON if first.startswith(b"[") else SourceFormat.NDJSON


def _unsupported(what: str) -> Problem:
    return Problem(
        415,
        detail=f"{what}; send CSV (text/csv), JSON (application/json) or "
        "NDJSON (application/x-ndjson), as the body or as the multipart "
        "field 'file'",
    )


@asynccontextmanager
async def import_upload(
    request: Request, *, field: str = "file"
) -> AsyncIterator[tuple[UploadFile, SourceFormat]]:
    """The uploaded file (spooled, rewound) and its format; deleted on exit.

    A 415 problem when the format cannot be told, 422 when a multipart form lacks ``field``.
    """
    media_type = request.headers.get("content-type", "")
    if media_type.lower().startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get(field)
            if not isinstance(upload, UploadFile):
                missing = {"field": f"body.{field}", "message": "Field required", "type": "missing"}
                raise Problem(
                    422,
                    detail=f"the multipart form has no file field {field!r}",
                    extra={"errors": [missing]},
                )
            fmt = _format_of(upload.content_type, upload.filename)
            if fmt is None:
                raise _unsupported(f"the type of {upload.filename or 'the file'} is unknown")
            await upload.seek(0)
            yield upload, (await _json_flavour(upload) if fmt is SourceFormat.JSON else fmt)
        return
    fmt = _format_of(media_type, None)
    if fmt is None:
        raise _unsupported(f"content type {media_type or '(none)'} is not importable")
    spool = cast(BinaryIO, SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES))  # noqa: SIM115
    upload = UploadFile(spool, headers=Headers({"content-type": media_type}))  # closed below
    try:
        async for chunk in request.stream():
            await upload.write(chunk)
        await upload.seek(0)
        yield upload, (await _json_flavour(upload) if fmt is SourceFormat.JSON else fmt)
    finally:
        await upload.close()
