"""The monitoring views over HTTP (``/views/…``): the five views, drill-down, rebuild."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from services.audit.monitoring import queries
from services.audit.monitoring.api.deps import (
    READ_PROBLEMS,
    SERVICE,
    Admin,
    AsOf,
    Commune,
    Policy,
    Reader,
    Year,
    read_scope,
)
from services.audit.monitoring.commands import rebuild
from services.audit.monitoring.queries import ViewRead
from services.audit.monitoring.schemas import (
    CommuneRow,
    Democracy,
    Fairness,
    HouseholdPage,
    HouseholdSummary,
    Overview,
    RebuildReport,
    Targets,
    Timeliness,
)
from shared.auth import authorize_read
from shared.problems import NotFound, problem_responses
from shared.service import Runtime, SessionDep

router = APIRouter(prefix="/views", tags=["views"])


def add_view_route(name: str, read: ViewRead[BaseModel], body: type[BaseModel], doc: str) -> None:
    """``GET /views/{name}?year=&commune_code=&as_of=``: the view ``read`` gives, for the
    communes the caller may read; ``doc`` becomes its OpenAPI description."""

    async def endpoint(
        principal: Reader,
        session: SessionDep,
        policy: Policy,
        year: Year,
        commune_code: Commune = None,
        as_of: AsOf = None,
    ) -> BaseModel:
        return await read(
            session,
            year=year,
            commune_code=commune_code,
            communes=read_scope(principal, commune_code),
            as_of=as_of,
            policy=policy,
        )

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    router.add_api_route(
        f"/{name}",
        endpoint,
        methods=["GET"],
        name=name,
        response_model=body,
        responses=READ_PROBLEMS,
    )


add_view_route(
    "overview",
    queries.overview,
    Overview,
    "The four views' totals, open findings by kind, one row per commune.",
)
add_view_route(
    "democracy",
    queries.democracy,
    Democracy,
    "Meetings and postings before recognition, complaints, voluntary escapes.",
)
add_view_route(
    "fairness",
    queries.fairness,
    Fairness,
    "Exclusion, excess, duplicates, misclassification, distribution of benefits.",
)
add_view_route(
    "timeliness",
    queries.timeliness,
    Timeliness,
    "Lags against each service standard: median, p90, on-time rate; open backlog by age.",
)
add_view_route(
    "targets",
    queries.targets,
    Targets,
    "Plan against actual: placements, trainees, poor and near-poor rate change.",
)


@router.get("/communes", response_model=list[CommuneRow], responses=READ_PROBLEMS)
async def communes(
    principal: Reader, session: SessionDep, policy: Policy, year: Year, as_of: AsOf = None
) -> list[CommuneRow]:
    """One row per commune the caller may read (drill-down from the district)."""
    return await queries.commune_rows(
        session, year=year, communes=read_scope(principal, None), as_of=as_of, policy=policy
    )


@router.get("/households", response_model=HouseholdPage, responses=READ_PROBLEMS)
async def households(
    principal: Reader,
    session: SessionDep,
    commune_code: Annotated[str, Query(min_length=1, max_length=10)],
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HouseholdPage:
    """A commune's households by id (drill-down to one household)."""
    authorize_read(principal, SERVICE, commune_code)
    return await queries.commune_households(
        session, commune_code=commune_code, after=after, limit=limit
    )


@router.get(
    "/households/{household_id}",
    response_model=HouseholdSummary,
    responses=problem_responses(403, 404),
)
async def household(
    principal: Reader,
    session: SessionDep,
    policy: Policy,
    household_id: Annotated[str, Path(max_length=64)],
    as_of: Annotated[date | None, Query()] = None,
) -> HouseholdSummary:
    """One household: class history, members (ids only), assessments re-checked, cases,
    findings."""
    summary = await queries.household_summary(session, household_id, as_of=as_of, policy=policy)
    if summary is None:
        raise NotFound("No event names that household.")
    authorize_read(principal, SERVICE, summary.commune_code)
    return summary


@router.post("/rebuild", response_model=RebuildReport, responses=problem_responses(403))
async def rebuild_views(
    _: Admin, runtime: Runtime, policy: Policy, as_of: Annotated[date | None, Query()] = None
) -> RebuildReport:
    """Empty every read model and replay the ledger into it, in order; then re-evaluate."""
    return await rebuild(runtime.sessions, as_of=as_of or policy.today(), policy=policy)
