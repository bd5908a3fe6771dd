"""Monitoring views and findings over HTTP.

Inspectors, partners and admins read every commune; operators read their own communes
(asking for another is a 403; without ``commune_code`` they get theirs only). Evaluating
findings and rebuilding the read models are for admins.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import views
from services.audit.domain import AuditPolicy
from services.audit.findings import evaluate
from services.audit.rebuild import rebuild
from services.audit.view_models import (
    CommuneRow,
    Democracy,
    EvaluationReport,
    Fairness,
    FindingPage,
    HouseholdPage,
    HouseholdSummary,
    Overview,
    RebuildReport,
    Targets,
    Timeliness,
)
from shared.auth import Principal, Role, authorize_read, readable_communes, require_roles
from shared.problems import NotFound, problem_responses
from shared.service import Runtime, SessionDep

SERVICE = "audit"
views_router = APIRouter(prefix="/views", tags=["views"])
findings_router = APIRouter(prefix="/findings", tags=["findings"])

Reader = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.PARTNER, Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require_roles())]
Year = Annotated[int, Query(ge=2000, le=2100, description="review cycle / plan year")]
Commune = Annotated[str | None, Query(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z]+$")]
AsOf = Annotated[
    date | None,
    Query(description="day of the time-based indicators; default 31 Dec of year or today"),
]
READ_PROBLEMS = problem_responses(403)


def policy_of(runtime: Runtime) -> AuditPolicy:
    """The service standards configured for this service (AuditSettings)."""
    policy = runtime.extras.get("audit_policy")
    return policy if isinstance(policy, AuditPolicy) else AuditPolicy()


def _scope(principal: Principal, commune_code: str | None) -> frozenset[str] | None:
    authorize_read(principal, SERVICE, commune_code)
    return readable_communes(principal)


@views_router.get("/overview", response_model=Overview, responses=READ_PROBLEMS)
async def overview(
    principal: Reader,
    session: SessionDep,
    runtime: Runtime,
    year: Year,
    commune_code: Commune = None,
    as_of: AsOf = None,
) -> Overview:
    """The four views' totals, open findings by kind, one row per commune."""
    return await views.overview(
        session,
        year=year,
        commune_code=commune_code,
        communes=_scope(principal, commune_code),
        as_of=as_of,
        policy=policy_of(runtime),
    )


@views_router.get("/democracy", response_model=Democracy, responses=READ_PROBLEMS)
async def democracy(
    principal: Reader,
    session: SessionDep,
    runtime: Runtime,
    year: Year,
    commune_code: Commune = None,
    as_of: AsOf = None,
) -> Democracy:
    """Meetings and postings before recognition, complaints, voluntary escapes."""
    return await views.democracy(
        session,
        year=year,
        commune_code=commune_code,
        communes=_scope(principal, commune_code),
        as_of=as_of,
        policy=policy_of(runtime),
    )


@views_router.get("/fairness", response_model=Fairness, responses=READ_PROBLEMS)
async def fairness(
    principal: Reader,
    session: SessionDep,
    runtime: Runtime,
    year: Year,
    commune_code: Commune = None,
    as_of: AsOf = None,
) -> Fairness:
    """Exclusion, excess, duplicates, misclassification, distribution of benefits."""
    return await views.fairness(
        session,
        year=year,
        commune_code=commune_code,
        communes=_scope(principal, commune_code),
        as_of=as_of,
        policy=policy_of(runtime),
    )


@views_router.get("/timeliness", response_model=Timeliness, responses=READ_PROBLEMS)
async def timeliness(
    principal: Reader,
    session: SessionDep,
    runtime: Runtime,
    year: Year,
    commune_code: Commune = None,
    as_of: AsOf = None,
) -> Timeliness:
    """Lags against each service standard: median, p90, on-time rate; open backlog by age."""
    return await views.timeliness(
        session,
        year=year,
        commune_code=commune_code,
        communes=_scope(principal, commune_code),
        as_of=as_of,
        policy=policy_of(runtime),
    )


@views_router.get("/targets", response_model=Targets, responses=READ_PROBLEMS)
async def targets(
    principal: Reader,
    session: SessionDep,
    runtime: Runtime,
    year: Year,
    commune_code: Commune = None,
    as_of: AsOf = None,
) -> Targets:
    """Plan against actual: placements, trainees, poor and near-poor rate change."""
    return await views.targets(
        session,
        year=year,
        commune_code=commune_code,
        communes=_scope(principal, commune_code),
        as_of=as_of,
        policy=policy_of(runtime),
    )


@views_router.get("/communes", response_model=list[CommuneRow], responses=READ_PROBLEMS)
async def communes(
    principal: Reader, session: SessionDep, runtime: Runtime, year: Year, as_of: AsOf = None
) -> list[CommuneRow]:
    """One row per commune the caller may read (drill-down from the district)."""
    return await views.commune_rows(
        session, year=year, communes=_scope(principal, None), as_of=as_of, policy=policy_of(runtime)
    )


@views_router.get("/households", response_model=HouseholdPage, responses=READ_PROBLEMS)
async def households(
    principal: Reader,
    session: SessionDep,
    commune_code: Annotated[str, Query(min_length=1, max_length=10)],
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HouseholdPage:
    """A commune's households by id (drill-down to one household)."""
    authorize_read(principal, SERVICE, commune_code)
    return await views.commune_households(
        session, commune_code=commune_code, after=after, limit=limit
    )


@views_router.get(
    "/households/{household_id}",
    response_model=HouseholdSummary,
    responses=problem_responses(403, 404),
)
async def household(
    principal: Reader,
    session: SessionDep,
    runtime: Runtime,
    household_id: Annotated[str, Path(max_length=64)],
    as_of: Annotated[date | None, Query()] = None,
) -> HouseholdSummary:
    """One household: class history, members (ids only), assessments re-checked, cases,
    findings."""
    summary = await views.household_summary(
        session, household_id, as_of=as_of, policy=policy_of(runtime)
    )
    if summary is None:
        raise NotFound("No event names that household.")
    authorize_read(principal, SERVICE, summary.commune_code)
    return summary


@views_router.post("/rebuild", response_model=RebuildReport, responses=problem_responses(403))
async def rebuild_views(
    _: Admin, runtime: Runtime, as_of: Annotated[date | None, Query()] = None
) -> RebuildReport:
    """Empty every read model and replay the ledger into it, in order; then re-evaluate."""
    policy = policy_of(runtime)
    return await rebuild(runtime.sessions, as_of=as_of or policy.today(), policy=policy)


StatusFilter = Literal["open", "cleared", "all"]


@findings_router.get("", response_model=FindingPage, responses=READ_PROBLEMS)
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
    return await views.findings(
        session,
        kind=kind,
        commune_code=commune_code,
        communes=_scope(principal, commune_code),
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


@findings_router.get(".csv", response_class=StreamingResponse, responses=READ_PROBLEMS)
async def findings_csv(
    principal: Reader,
    runtime: Runtime,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    commune_code: Commune = None,
    status: StatusFilter = "open",
) -> StreamingResponse:
    """The same findings as CSV (UTF-8, header row; evidence ids separated by spaces)."""
    communes = _scope(principal, commune_code)

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
    after = None
    while True:
        page = await views.findings(
            session,
            kind=kind,
            commune_code=commune_code,
            communes=communes,
            status=None if status == "all" else status,
            after=after,
            limit=500,
        )
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
        if page.next_after is None:
            return
        after = page.next_after


@findings_router.post(
    "/evaluate", response_model=EvaluationReport, responses=problem_responses(403)
)
async def evaluate_findings(
    _: Admin, runtime: Runtime, session: SessionDep, as_of: Annotated[date | None, Query()] = None
) -> EvaluationReport:
    """Re-check every subject on ``as_of`` (default: the audit clock's today) now."""
    policy = policy_of(runtime)
    day = as_of or policy.today()
    book = await evaluate(runtime.sessions, as_of=day, policy=policy)
    return EvaluationReport(
        as_of=day,
        raised=book.raised,
        cleared=book.cleared,
        open=await views.open_findings_count(session),
    )


routers = [views_router, findings_router]
