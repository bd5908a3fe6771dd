"""The HTTP side of a bulk import, written once: ``POST <path>`` taking a CSV, JSON or NDJSON
file (see :mod:`shared.bulk`), with ``dry_run`` and ``commune_code``, answering an
:class:`~shared.bulk.ImportReport`.

A service gives :func:`add_import_route` its two passes over the file; the route authorises
the caller, then runs :func:`~shared.bulk.two_pass_import` (validate everything, then write
unless a dry run), handing each pass an :class:`ImportCall`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from shared.auth import CurrentPrincipal
from shared.bulk import (
    IMPORT_REQUEST_BODY,
    IMPORT_RESPONSES,
    DryRun,
    ErrorLog,
    ImportReport,
    ImportScope,
    OnlyCommune,
    SourceFormat,
    two_pass_import,
)
from shared.pseudonym import Pseudonymizer
from shared.service import Runtime, SessionDep


@dataclass(frozen=True)
class ImportCall:
    """What both passes of one import request work with."""

    session: AsyncSession
    scope: ImportScope
    pseudonyms: Pseudonymizer


#: The validation pass: reads the whole file, writes nothing, records every error.
ValidateFile = Callable[
    [ImportCall, UploadFile, SourceFormat, ErrorLog, ImportReport], Awaitable[None]
]
#: The write pass: reads the file again and writes it, counting into the report.
WriteFile = Callable[[ImportCall, UploadFile, SourceFormat, ImportReport], Awaitable[None]]


@dataclass(frozen=True)
class FileImport:
    """One kind of import: where it is posted and how its file is validated and written.

    ``what`` names the records in refusals ("households"), ``unit`` one record in the report,
    ``task`` the log events, ``name`` and ``description`` the OpenAPI operation."""

    path: str
    service: str
    what: str
    unit: str
    task: str
    name: str
    description: str
    validate: ValidateFile
    write: WriteFile


def add_import_route(router: APIRouter, spec: FileImport) -> None:
    """Add ``POST spec.path`` to ``router``: the caller must be allowed to import at all (403),
    then the file is validated (422 listing the errors, nothing written) and written."""

    async def import_file(
        request: Request,
        principal: CurrentPrincipal,
        session: SessionDep,
        runtime: Runtime,
        dry_run: DryRun = False,
        commune_code: OnlyCommune = None,
    ) -> ImportReport:
        scope = ImportScope(principal, spec.service, spec.what, commune_code)
        scope.authorize()
        call = ImportCall(session, scope, runtime.pseudonyms)

        async def validate(
            upload: UploadFile, fmt: SourceFormat, errors: ErrorLog, report: ImportReport
        ) -> None:
            await spec.validate(call, upload, fmt, errors, report)

        async def write(upload: UploadFile, fmt: SourceFormat, report: ImportReport) -> None:
            await spec.write(call, upload, fmt, report)

        return await two_pass_import(
            request,
            task=spec.task,
            unit=spec.unit,
            dry_run=dry_run,
            validate=validate,
            write=write,
        )

    router.add_api_route(
        spec.path,
        import_file,
        methods=["POST"],
        name=spec.name,
        description=spec.description,
        response_model=ImportReport,
        openapi_extra=IMPORT_REQUEST_BODY,
        responses=IMPORT_RESPONSES,
    )
