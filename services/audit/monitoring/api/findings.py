"""Findings over HTTP (``/findings…``): the list, its CSV export, evaluation on demand."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring import queries
from services.audit.monitoring.api.deps import (
    READ_PROBLEMS,
    Admin,
    Commune,
    Policy,
    Reader,
    read_scope,
)
from services.audit.monitoring.commands import evaluate
from services.audit.monitoring.schemas import EvaluationReport, FindingPage
from shared.problems import problem_responses
from shared.service import Runtime, SessionDep

router = APIRouter(prefix="/findings", tags=["findings"])

StatusFilter = Literal["open", "cleared", "all"]


@router.get("", response_model=FindingPage, responses=READ_PROBLEMS)
async def list_findings(
    principal: Reader,
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    commune_code: Commune = None,
    status: StatusFilter = "open",
    after: Annotated[str | None, Query(max_length=200, description="next_after")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FindingPage:
    """Findings by key (kind:subject), with their evidence (event ids)."""
    return await queries.findings(
        session,
        kind=kind,
        commune_code=commune_code,
        communes=read_scope(principal, commune_code),
        status=None if status == "all" else status,
        after=after,
        limit=limit,
    )


CSV_COLUMNS = (
    "key",
    "kind",
    "subject_id",
    "commune_code",
    "status",
    "raised_on",
    "cleared_on",
    "summary",
    "evidence",
    "cleared_reason",
    "finding_id",
)


@router.get(".csv", response_class=StreamingResponse, responses=READ_PROBLEMS)
async def findings_csv(
    principal: Reader,
    runtime: Runtime,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    commune_code: Commune = None,
    status: StatusFilter = "open",
) -> StreamingResponse:
    """The same findings as CSV (UTF-8, header row; evidence ids separated by spaces)."""
    communes = read_scope(principal, commune_code)

    async def rows() -> AsyncIterator[str]:
        # Its own session: the request's may be closed before the body is streamed.
        async with runtime.sessions() as session:
            async for chunk in _csv_chunks(session, kind, commune_code, communes, status):
                yield chunk

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="findings.csv"'},
    )


async def _csv_chunks(
    session: AsyncSession,
    kind: str | None,
    commune_code: str | None,
    communes: frozenset[str] | None,
    status: StatusFilter,
) -> AsyncIterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    pages = queries.finding_pages(
        session,
        kind=kind,
        commune_code=commune_code,
        communes=communes,
        status=None if status == "all" else status,
        page_size=500,
    )
    async for page in pages:
        for f in page.items:
            writer.writerow(
                [
                    f.key,
                    f.kind,
                    f.subject_id,
                    f.commune_code or "",
                    f.status,
                    f.raised_on,
                    f.cleared_on or "",
                    f.summary,
                    " ".join(f.evidence),
                    f.cleared_reason or "",
                    f.finding_id,
                ]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()


@router.post("/evaluate", response_model=EvaluationReport, responses=problem_responses(403))
async def evaluate_findings(
    _: Admin,
    runtime: Runtime,
    session: SessionDep,
    policy: Policy,
    as_of: Annotated[date | None, Query()] = None,
) -> EvaluationReport:
    """Re-check every subject on ``as_of`` (default: the audit clock's today) now."""
    day = as_of or policy.today()
    book = await evaluate(runtime.sessions, as_of=day, policy=policy)
    return EvaluationReport(
        as_of=day,
        raised=book.raised,
        cleared=book.cleared,
        open=await queries.open_findings_count(session),
    )
