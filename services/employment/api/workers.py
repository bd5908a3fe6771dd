"""Workers: registration with priority flags, the worker list, audited personal data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.employment import queries
from services.employment.api.deps import CommuneQuery, CurrentPrincipal, Policy, SessionDep
from services.employment.commands.workers import register_worker
from services.employment.schemas import (
    WorkerDetailOut,
    WorkerIn,
    WorkerOut,
    WorkerPage,
    WorkerPersonalDataOut,
)
from services.employment.views import worker_view

router = APIRouter(tags=["workers"])


@router.post("/workers", status_code=status.HTTP_201_CREATED, response_model=WorkerOut)
async def create_worker(
    body: WorkerIn, principal: CurrentPrincipal, session: SessionDep
) -> WorkerOut:
    """Register a household member as a worker (priority flags from the household)."""
    return worker_view(await register_worker(session, principal, body))


@router.get("/workers", response_model=WorkerPage)
async def list_workers(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    priority_only: bool = False,
    after: Annotated[str | None, Query(description="cursor: the last worker_id seen")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> WorkerPage:
    """Workers the caller may read, in id order, a page at a time."""
    return await queries.list_workers(
        session,
        principal,
        commune_code=commune_code,
        priority_only=priority_only,
        after=after,
        limit=limit,
    )


@router.get("/workers/{worker_id}", response_model=WorkerDetailOut)
async def read_worker(
    worker_id: str, principal: CurrentPrincipal, session: SessionDep
) -> WorkerDetailOut:
    """One worker, with the household's class history as received from the households service."""
    return await queries.read_worker(session, principal, worker_id)


@router.get("/workers/{worker_id}/personal-data", response_model=WorkerPersonalDataOut)
async def read_worker_personal_data(
    worker_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    policy: Policy,
    purpose: Annotated[
        str, Query(min_length=3, max_length=150, description="why the data is needed")
    ],
) -> WorkerPersonalDataOut:
    """Name, citizen ID and address, read from the households API (which records the read)."""
    return await queries.read_worker_personal_data(session, principal, policy, worker_id, purpose)
