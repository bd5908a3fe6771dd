"""Bulk import of households: ``POST /imports/households``.

The file comes as the multipart field ``file`` or as the body itself (``text/csv``,
``application/json``, ``application/x-ndjson``); see :mod:`shared.bulk`.

**CSV**: one row per person, columns :data:`CSV_COLUMNS` (any order). Consecutive rows with
the same ``household_ref`` form one household, so *the file must be grouped by
household_ref*: a ref that comes back after another household is an error. The household
columns (commune_code … independent_since_year) are taken from the household's first row;
its other rows may leave them empty or repeat them, not contradict them. An empty cell is
a missing value (citizen_id may be empty for young children).

**JSON / NDJSON**: one object per household, the body of ``POST /households`` plus
``household_ref``.

``household_ref`` (the locality's own household code, stored as ``external_ref``) is
required: it is what makes an import safe to run again.

What happens, in two passes over the file:

1. *Validate*. Every household is checked as ``POST /households`` checks it, and also:
   its household_ref is not repeated, its citizen IDs appear once in the file and are not
   registered in another household, and its commune is one the caller may write (and is
   ``commune_code`` when that is given) — an operator's rows of another commune are
   rejected. If anything is wrong nothing is written: 422 whose ``report`` lists the
   errors by line. A dry run stops here (200 with the report).
2. *Import*. The file is read again and registered in transactions of
   :data:`BATCH_HOUSEHOLDS` households, their events appended to the outbox in the same
   transaction. A household whose household_ref is already registered is skipped and
   counted in ``skipped_existing``, so a file can be re-run after an interruption: only
   what is missing gets imported. A batch that clashes with a registration made since
   the validation (a concurrent import or API call) ends the import with 409; the
   batches before it stay committed and re-running the file completes it.

The file stays on disk; memory grows only with the household_refs and citizen IDs kept
to find duplicates (about 100-150 bytes per person).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from services.households.commands.registry import build_household
from services.households.models import Household, Person, platform
from services.households.schemas import HouseholdIn, PersonIn
from shared.bulk import (
    ErrorLog,
    ImportReport,
    ImportScope,
    MalformedFile,
    Record,
    SourceFormat,
    column_values,
    record_chunks,
    scalars_where_in,
    write_chunks,
)
from shared.events import EventPayload
from shared.import_routes import ImportCall
from shared.observability import progress_logger
from shared.outbox import append_events
from shared.pseudonym import Pseudonymizer

#: Households registered per transaction.
BATCH_HOUSEHOLDS = 500
HOUSEHOLD_COLUMNS = (
    "commune_code",
    "village",
    "address",
    "area",
    "registered_on",
    "independent_since_year",
)
PERSON_COLUMNS = (
    "full_name",
    "sex",
    "date_of_birth",
    "ethnicity",
    "citizen_id",
    "relation_to_head",
)
CSV_COLUMNS = ("household_ref", *HOUSEHOLD_COLUMNS, *PERSON_COLUMNS)
_IN_FILE = {"external_ref": "household_ref"}


@dataclass
class Candidate:
    """One household of the file: where it is, and its body while it is still valid."""

    line: int
    ref: str | None
    body: HouseholdIn | None
    member_at: list[tuple[int, str]] = field(default_factory=list)  # (line, field prefix)
    existing: bool = False

    def reject(self, errors: ErrorLog, line: int, field_name: str | None, message: str) -> None:
        errors.add(line, field_name, message)
        self.body = None


def _validated(line: int, data: dict[str, Any], errors: ErrorLog) -> HouseholdIn | None:
    try:
        return HouseholdIn.model_validate(data)
    except ValidationError as exc:
        errors.add_validation(line, exc, rename=_IN_FILE)
        return None


def _needs_ref(line: int, ref: Any, errors: ErrorLog) -> str | None:
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        errors.add(line, "household_ref", "Field required: it makes re-running an import safe")
        return None
    return ref.strip() if isinstance(ref, str) else ref


def _json_household(record: Record, errors: ErrorLog) -> Candidate:
    if record.data is None:
        errors.add(record.line, None, record.problem or "unreadable record")
        return Candidate(record.line, None, None)
    data = dict(record.data)
    ref = _needs_ref(record.line, data.pop("household_ref", None), errors)
    if "external_ref" in data:
        errors.add(record.line, "external_ref", "give the household's code as household_ref")
    body = _validated(record.line, {**data, "external_ref": ref}, errors)
    if body is None or ref is None or "external_ref" in data:
        return Candidate(record.line, ref, None)
    return Candidate(
        record.line, ref, body, [(record.line, f"members.{i}.") for i in range(len(body.members))]
    )


# A valid head standing in for members that failed, so the household columns still get checked.
_STAND_IN = PersonIn(
    full_name="-",
    sex="male",
    date_of_birth=date(1980, 1, 1),
    ethnicity="-",
    relation_to_head="head",
)


def _csv_household(rows: Sequence[Record], errors: ErrorLog) -> Candidate:
    first = rows[0].data or {}
    head = {name: first[name] for name in HOUSEHOLD_COLUMNS if name in first}
    ref = _needs_ref(rows[0].line, first.get("household_ref"), errors)
    valid = ref is not None
    for row in rows[1:]:
        for name in HOUSEHOLD_COLUMNS:
            value = (row.data or {}).get(name)
            if value is not None and value.strip() != first.get(name, "").strip():
                errors.add(
                    row.line, name, f"differs from the household's first row, line {rows[0].line}"
                )
                valid = False
    members: list[PersonIn] = []
    for row in rows:
        try:
            person = {
                name: value for name, value in (row.data or {}).items() if name in PERSON_COLUMNS
            }
            members.append(PersonIn.model_validate(person))
        except ValidationError as exc:
            errors.add_validation(row.line, exc)
    members_valid = len(members) == len(rows)
    body = _validated(
        rows[0].line,
        {**head, "external_ref": ref, "members": members if members_valid else [_STAND_IN]},
        errors,
    )
    if body is None or not (valid and members_valid):
        return Candidate(rows[0].line, ref, None)
    return Candidate(rows[0].line, ref, body, [(row.line, "") for row in rows])


class _CsvGroups:
    """Groups consecutive rows of one household_ref; the last group waits for more rows."""

    def __init__(self, errors: ErrorLog) -> None:
        self.errors = errors
        self.rows: list[Record] = []

    def feed(self, records: Sequence[Record]) -> list[Candidate]:
        done: list[Candidate] = []
        for record in records:
            if record.data is None:
                done += self.flush()
                self.errors.add(record.line, None, record.problem or "unreadable row")
                done.append(Candidate(record.line, None, None))
                continue
            ref = _ref_cell(record)
            if self.rows and (ref is None or ref != _ref_cell(self.rows[0])):
                done += self.flush()
            self.rows.append(record)
        return done

    def flush(self) -> list[Candidate]:
        rows, self.rows = self.rows, []
        return [_csv_household(rows, self.errors)] if rows else []


def _ref_cell(record: Record) -> str | None:
    value = (record.data or {}).get("household_ref")
    return value.strip() if isinstance(value, str) else None


async def _households(
    upload: UploadFile, fmt: SourceFormat, errors: ErrorLog, report: ImportReport | None = None
) -> AsyncGenerator[list[Candidate], None]:
    """The file's households, :data:`BATCH_HOUSEHOLDS` at a time; counts rows into ``report``."""
    csv_groups = _CsvGroups(errors) if fmt is SourceFormat.CSV else None
    pending: list[Candidate] = []
    try:
        async for records in record_chunks(
            upload.file, fmt, size=BATCH_HOUSEHOLDS, columns=CSV_COLUMNS if csv_groups else None
        ):
            if report is not None:
                report.rows_read += len(records)
            pending += (
                csv_groups.feed(records)
                if csv_groups
                else [_json_household(r, errors) for r in records]
            )
            while len(pending) >= BATCH_HOUSEHOLDS:
                yield pending[:BATCH_HOUSEHOLDS]
                del pending[:BATCH_HOUSEHOLDS]
    except MalformedFile as exc:
        errors.add(exc.line, None, exc.message)
    if csv_groups:
        pending += csv_groups.flush()
    if pending:
        yield pending


@dataclass
class _Checks:
    """Checks across households: duplicates in the file and the caller's communes."""

    scope: ImportScope
    errors: ErrorLog
    refs: dict[str, int] = field(default_factory=dict)
    citizen_ids: dict[str, int] = field(default_factory=dict)

    def in_file(self, household: Candidate) -> None:
        body, ref = household.body, household.ref
        if body is None or ref is None:
            return
        if ref in self.refs:
            household.reject(
                self.errors,
                household.line,
                "household_ref",
                f"also used at line {self.refs[ref]}: the file must be grouped by "
                "household_ref, one household per ref",
            )
        self.refs.setdefault(ref, household.line)
        refusal = self.scope.refusal(body.commune_code)
        if refusal:
            household.reject(self.errors, household.line, "commune_code", refusal)
        for member, (line, prefix) in zip(body.members, household.member_at, strict=True):
            if member.citizen_id is None:
                continue
            seen_at = self.citizen_ids.get(member.citizen_id)
            if seen_at is not None:
                household.reject(
                    self.errors,
                    line,
                    prefix + "citizen_id",
                    f"repeats the citizen ID of line {seen_at}",
                )
            else:
                self.citizen_ids[member.citizen_id] = line


async def _registered(session: AsyncSession, column: Any, values: Sequence[str]) -> set[str]:
    return set(await scalars_where_in(session, select(column), column, values))


async def _registered_refs(session: AsyncSession, households: Sequence[Candidate]) -> set[str]:
    return await _registered(session, Household.external_ref, [h.ref for h in households if h.ref])


async def _against_database(
    session: AsyncSession, batch: Sequence[Candidate], errors: ErrorLog
) -> None:
    """Mark households already registered; reject citizen IDs registered elsewhere."""
    valid = [h for h in batch if h.body is not None and h.ref is not None]
    async with session.begin():
        existing = await _registered_refs(session, valid)
        where: dict[str, tuple[Candidate, int, str]] = {}
        for household in valid:
            household.existing = household.ref in existing
            if household.existing or household.body is None:
                continue
            members = household.body.members
            for member, (line, prefix) in zip(members, household.member_at, strict=True):
                if member.citizen_id is not None:
                    where[member.citizen_id] = (household, line, prefix)
        taken = await _registered(session, Person.citizen_id, list(where))
    for citizen_id in taken:
        household, line, prefix = where[citizen_id]
        household.reject(
            errors,
            line,
            prefix + "citizen_id",
            "this citizen ID is already registered in another household",
        )


async def validate_file(
    call: ImportCall,
    upload: UploadFile,
    fmt: SourceFormat,
    errors: ErrorLog,
    report: ImportReport,
) -> None:
    """The validation pass: every household checked, nothing written, errors into ``errors``."""
    session, checks = call.session, _Checks(call.scope, errors)
    with progress_logger("households.import.validate", every=10_000) as progress:
        async with aclosing(_households(upload, fmt, checks.errors, report)) as batches:
            async for batch in batches:
                for household in batch:
                    checks.in_file(household)
                await _against_database(session, batch, checks.errors)
                for household in batch:
                    accepted = household.body is not None
                    report.accepted += accepted
                    report.rejected += not accepted
                    report.skipped_existing += accepted and household.existing
                progress.advance(len(batch))


async def _register_batch(
    session: AsyncSession, batch: Sequence[Candidate], pseudonyms: Pseudonymizer
) -> int:
    """Register the households of ``batch`` not registered yet, in one transaction; how many."""
    async with session.begin():
        existing = await _registered_refs(session, batch)
    # Built outside the write transaction, which on SQLite locks out the relay while it lasts.
    households: list[Household] = []
    persons: list[Person] = []
    events: list[tuple[EventPayload, str]] = []
    for number, candidate in enumerate(batch):
        if candidate.body is None or candidate.ref in existing:
            continue
        household, members, household_events = build_household(candidate.body, pseudonyms)
        households.append(household)
        persons += members
        events += household_events
        if number % 50 == 49:
            await asyncio.sleep(0)  # let other requests and the relay run between households
    if not households:
        return 0
    async with session.begin():
        # The rows build_household made, in bulk: add_all's unit of work took 3x longer.
        await session.execute(insert(Household), column_values(households))
        await session.execute(insert(Person), column_values(persons))
        await append_events(session, platform, events)
    return len(households)


async def import_file(
    call: ImportCall, upload: UploadFile, fmt: SourceFormat, report: ImportReport
) -> None:
    """The write pass: register the file's households not registered yet, a batch at a time."""

    async def register(batch: Sequence[Candidate]) -> int:
        return await _register_batch(call.session, batch, call.pseudonyms)

    errors = ErrorLog()
    await write_chunks(
        _households(upload, fmt, errors),
        register,
        report,
        errors,
        task="households.import.register",
        line_of=lambda h: h.line,
        clashes=(IntegrityError,),
    )
