"""Bulk import of placements and enrolments: ``POST /imports/placements``, ``/imports/enrolments``.

The file comes as the multipart field ``file`` or as the body itself (``text/csv``,
``application/json``, ``application/x-ndjson``); see :mod:`shared.bulk` and
:mod:`services.employment.commands.imports` for the columns and what a row does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from services.employment.api.deps import CurrentPrincipal, DryRun, Policy, SessionDep
from services.employment.commands import imports
from shared.bulk import IMPORT_REQUEST_BODY, ImportReport, import_upload

router = APIRouter(tags=["imports"])
_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "the file is larger than the import limit"},
    415: {"description": "not CSV, JSON or NDJSON"},
    422: {"description": "invalid rows, nothing imported: see `report`"},
}


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
    policy: Policy,
    dry_run: DryRun = False,
) -> ImportReport:
    """Record placements from a file: all rows valid or nothing written."""
    return await imports.import_placements(
        session, principal, import_upload(request), policy, dry_run=dry_run
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
    return await imports.import_enrolments(
        session, principal, import_upload(request), dry_run=dry_run
    )
