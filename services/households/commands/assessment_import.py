"""Bulk import of surveys: ``POST /imports/assessments``.

The file comes as the multipart field ``file`` or as the body itself (``text/csv``,
``application/json``, ``application/x-ndjson``); see :mod:`shared.bulk`.

A row is one survey, the body of ``POST /households/{id}/assessments`` plus the household
it is about — ``household_id``, or ``household_ref`` (the household's external_ref given
at registration) — and optionally ``assessment_ref``. CSV columns: any of
:data:`CSV_COLUMNS`, in any order; ``deprived_indicators`` is ``;``-separated and an empty
cell is a missing value. So the generator's ``<name>.assessments.csv`` (household_ref,
assessed_on, standard_code, income_per_person_month, deprived_indicators) imports as is.

Every row goes through the rules of the single endpoint (:func:`assessments.assess`): the
caller may write the household's commune (and it is ``commune_code`` when that is given),
the review exists in that commune and is not posted or recognised, the standard is in
force, the indicators belong to it, an override has its reason; it publishes the same
household_assessed event.

``assessment_ref`` makes a re-run safe; when absent the key is ``<household_id>@<assessed_on>``
(one survey of a household a day). A key may appear once in a file, and a row whose key is
already recorded is skipped and counted in ``skipped_existing``.

Two passes, as the households import: *validate* every row (nothing written; any error →
422 with the report listing line and field of each; a dry run stops here), then *import*
in one transaction per :data:`CHUNK_ROWS` rows — the chunk's households, reviews and keys
each read in one query, its assessments in one multi-row insert, its events in one outbox
append. A chunk that no longer passes (say its review was posted since the validation)
ends the import with 409; chunks before it stay committed and re-running the file
completes it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from services.households.commands.assessments import Assessed, assess, record_assessments
from services.households.models import Assessment, Household, Review
from services.households.schemas import AssessmentIn
from shared.bulk import (
    ErrorLog,
    ImportReport,
    ImportScope,
    MalformedFile,
    Record,
    SourceFormat,
    record_chunks,
    scalars_where_in,
    validate_record,
    write_chunks,
)
from shared.import_routes import ImportCall
from shared.inputs import ResourceId
from shared.observability import progress_logger
from shared.problems import RuleViolation

#: Rows per transaction of the import pass (and per query of the validation pass).
CHUNK_ROWS = 500
#: CSV columns: the required ones, then those that may be left out of the header.
REQUIRED_COLUMNS = ("assessed_on", "income_per_person_month")
CSV_COLUMNS = (
    *REQUIRED_COLUMNS,
    "household_id",
    "household_ref",
    "assessment_ref",
    "standard_code",
    "deprived_indicators",
    "review_id",
    "recorded_class",
    "override_reason",
)


class AssessmentRow(AssessmentIn):
    """One row of the file: a survey and the household it is about."""

    household_id: ResourceId | None = None
    household_ref: str | None = Field(None, min_length=1, max_length=64)
    assessment_ref: str | None = Field(
        None, min_length=1, max_length=64, description="the survey's own code; makes re-runs safe"
    )

    @field_validator("deprived_indicators", mode="before")
    @classmethod
    def _semicolon_separated(cls, value: Any) -> Any:
        if isinstance(value, str):  # the CSV form: "water;latrine"
            return [name.strip() for name in value.split(";") if name.strip()]
        return value


@dataclass
class Survey:
    """One row: where it is, its body while it is still valid, and what it resolved to."""

    line: int
    body: AssessmentRow | None
    household: Household | None = None
    key: str | None = None
    existing: bool = False

    @property
    def household_field(self) -> str:
        return "household_ref" if self.body and self.body.household_ref else "household_id"

    def reject(self, errors: ErrorLog, field_name: str | None, message: str) -> None:
        errors.add(self.line, field_name, message)
        self.body = None


def _survey(record: Record, errors: ErrorLog) -> Survey:
    body = validate_record(AssessmentRow, record, errors)
    survey = Survey(record.line, body)
    if body is not None and (body.household_id is None) == (body.household_ref is None):
        given = "both" if body.household_id else "neither"
        survey.reject(
            errors,
            "household_id",
            f"give the household as household_id or household_ref ({given} given)",
        )
    return survey


@dataclass
class _Chunk:
    """What the rows of a chunk refer to, each kind read in one query."""

    by_id: dict[str, Household]
    by_ref: dict[str, Household]  # by external_ref
    reviews: dict[str, Review]
    recorded: set[str]  # keys already imported

    def household(self, body: AssessmentRow) -> Household | None:
        if body.household_id:
            return self.by_id.get(body.household_id)
        return self.by_ref.get(body.household_ref or "")

    @classmethod
    async def load(cls, session: AsyncSession, surveys: Sequence[Survey]) -> _Chunk:
        bodies = [s.body for s in surveys if s.body is not None]
        by_id = await scalars_where_in(
            session,
            select(Household),
            Household.id,
            [b.household_id for b in bodies if b.household_id],
        )
        by_ref = await scalars_where_in(
            session,
            select(Household),
            Household.external_ref,
            [b.household_ref for b in bodies if b.household_ref],
        )
        reviews = await scalars_where_in(
            session, select(Review), Review.id, [b.review_id for b in bodies if b.review_id]
        )
        chunk = cls(
            {h.id: h for h in by_id},
            {h.external_ref: h for h in by_ref},
            {r.id: r for r in reviews},
            set(),
        )
        keys = [_key(b, h) for b in bodies if (h := chunk.household(b)) is not None]
        chunk.recorded.update(
            await scalars_where_in(
                session, select(Assessment.external_ref), Assessment.external_ref, keys
            )
        )
        return chunk


def _key(body: AssessmentRow, household: Household) -> str:
    return body.assessment_ref or f"{household.id}@{body.assessed_on.isoformat()}"


def _resolve(survey: Survey, chunk: _Chunk, scope: ImportScope, errors: ErrorLog) -> None:
    """Find the row's household and key; reject it if the caller may not write there."""
    body = survey.body
    if body is None:
        return
    name = survey.household_field
    household = chunk.household(body)
    if household is None:
        survey.reject(errors, name, f"no household has this {name.removeprefix('household_')}")
        return
    refusal = scope.refusal(household.commune_code)
    if refusal:
        survey.reject(errors, name, refusal)
        return
    survey.household, survey.key = household, _key(body, household)
    survey.existing = survey.key in chunk.recorded


def _assessed(survey: Survey, chunk: _Chunk) -> Assessed:
    """The single endpoint's decision for this row (RuleViolation if it breaks a rule)."""
    assert survey.body is not None and survey.household is not None
    review = chunk.reviews.get(survey.body.review_id) if survey.body.review_id else None
    return assess(survey.household, review, survey.body, external_ref=survey.key)


def _field_of(violation: RuleViolation) -> str | None:
    return violation.field.removeprefix("body.") if violation.field else None


async def _surveys(
    upload: UploadFile, fmt: SourceFormat, errors: ErrorLog, report: ImportReport | None = None
) -> AsyncGenerator[list[Survey], None]:
    """The file's rows, :data:`CHUNK_ROWS` at a time; counts them into ``report``."""
    try:
        async for records in record_chunks(
            upload.file, fmt, size=CHUNK_ROWS, columns=REQUIRED_COLUMNS, optional=CSV_COLUMNS
        ):
            if report is not None:
                report.rows_read += len(records)
            yield [_survey(record, errors) for record in records]
    except MalformedFile as exc:
        errors.add(exc.line, None, exc.message)


@dataclass
class _Validation:
    """Checks of the validation pass, across the whole file."""

    scope: ImportScope
    errors: ErrorLog
    keys: dict[str, int] = field(default_factory=dict)  # key → its first line

    def check(self, survey: Survey, chunk: _Chunk) -> None:
        """Reject the row unless the single endpoint would record it; a key is taken only
        by a valid row (a re-run skips recorded rows without checking them again)."""
        _resolve(survey, chunk, self.scope, self.errors)
        if survey.body is None or survey.key is None:
            return
        if not survey.existing:
            try:
                _assessed(survey, chunk)
            except RuleViolation as violation:
                survey.reject(self.errors, _field_of(violation), violation.detail or "")
                return
        first = self.keys.setdefault(survey.key, survey.line)
        if first != survey.line:
            name = "assessment_ref" if survey.body.assessment_ref else "assessed_on"
            survey.reject(
                self.errors,
                name,
                f"the same survey as line {first}; give each "
                "survey of a household on one day its assessment_ref",
            )


async def validate_file(
    call: ImportCall,
    upload: UploadFile,
    fmt: SourceFormat,
    errors: ErrorLog,
    report: ImportReport,
) -> None:
    """The validation pass: every row checked, nothing written, errors into ``errors``."""
    session, validation = call.session, _Validation(call.scope, errors)
    with progress_logger("households.assessments_import.validate", every=10_000) as progress:
        async with aclosing(_surveys(upload, fmt, validation.errors, report)) as chunks:
            async for surveys in chunks:
                async with session.begin():
                    chunk = await _Chunk.load(session, surveys)
                for survey in surveys:
                    validation.check(survey, chunk)
                    accepted = survey.body is not None
                    report.accepted += accepted
                    report.rejected += not accepted
                    report.skipped_existing += accepted and survey.existing
                session.expunge_all()  # the rows read are not needed past their chunk
                progress.advance(len(surveys))


async def _import_chunk(
    session: AsyncSession, surveys: Sequence[Survey], scope: ImportScope, errors: ErrorLog
) -> int:
    """Record the chunk's surveys not recorded yet, in one transaction; how many."""
    async with session.begin():
        chunk = await _Chunk.load(session, surveys)
        assessed: list[Assessed] = []
        for survey in surveys:
            _resolve(survey, chunk, scope, errors)
            if survey.body is not None and not survey.existing:
                assessed.append(_assessed(survey, chunk))
        await record_assessments(session, assessed)
    session.expunge_all()
    return len(assessed)


async def import_file(
    call: ImportCall, upload: UploadFile, fmt: SourceFormat, report: ImportReport
) -> None:
    """The write pass: record the file's surveys not recorded yet, a chunk at a time."""
    errors = ErrorLog()

    async def record(surveys: Sequence[Survey]) -> int:
        return await _import_chunk(call.session, surveys, call.scope, errors)

    await write_chunks(
        _surveys(upload, fmt, errors),
        record,
        report,
        errors,
        task="households.assessments_import.record",
        line_of=lambda s: s.line,
        clashes=(RuleViolation, IntegrityError),
    )
