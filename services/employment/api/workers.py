"""Employment API: workers, their priority flags, audited personal data, and placements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.employment.domain import PlacementPeriod
from services.employment.models import Placement, Worker
from services.employment.operations import (
    SERVICE,
    class_history,
    get_worker,
    place_worker,
    policy,
    register_worker,
)
from services.employment.queries import placement_view, worker_detail, worker_view
from services.employment.schemas import (
    PlacementIn,
    PlacementOut,
    WorkerDetailOut,
    WorkerIn,
    WorkerOut,
    WorkerPage,
    WorkerPersonalDataOut,
)
from shared.auth import CurrentPrincipal, Role, authorize_read, authorize_write, readable_communes
from shared.problems import Conflict, Forbidden, NotFound
from shared.service import Runtime, SessionDep, service_client

router = APIRouter(tags=["workers"])
CommuneQuery = Annotated[str | None, Query(pattern=r"^[0-9]{5}$")]


@router.post("/workers", status_code=status.HTTP_201_CREATED, response_model=WorkerOut)
async def create_worker(
    body: WorkerIn, principal: CurrentPrincipal, session: SessionDep
) -> WorkerOut:
    """Register a household member as a worker (priority flags from the household)."""
    try:
        async with session.begin():
            worker = await register_worker(session, principal, body)
    except IntegrityError as exc:  # a concurrent registration of the same person won
        raise Conflict("body.person_id: this person is already registered as a worker") from exc
    return worker_view(worker)


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
    authorize_read(principal, SERVICE, commune_code)
    query = select(Worker).order_by(Worker.id).limit(limit)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Worker.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Worker.commune_code == commune_code)
    if priority_only:
        query = query.where(
            Worker.poor_household
            | Worker.near_poor_household
            | Worker.ethnic_minority
            | Worker.rural_worker
        )
    if after:
        query = query.where(Worker.id > after)
    items = [worker_view(w) for w in (await session.execute(query)).scalars()]
    return WorkerPage(items=items, next_cursor=items[-1].worker_id if len(items) == limit else None)


@router.get("/workers/{worker_id}", response_model=WorkerDetailOut)
async def read_worker(
    worker_id: str, principal: CurrentPrincipal, session: SessionDep
) -> WorkerDetailOut:
    """One worker, with the household's class history as received from the households service."""
    worker = await get_worker(session, worker_id)
    authorize_read(principal, SERVICE, worker.commune_code)
    return worker_detail(worker, await class_history(session, worker.household_id))


@router.get("/workers/{worker_id}/personal-data", response_model=WorkerPersonalDataOut)
async def read_worker_personal_data(
    worker_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
    purpose: Annotated[
        str, Query(min_length=3, max_length=150, description="why the data is needed")
    ],
) -> WorkerPersonalDataOut:
    """Name, citizen ID and address, read from the households API (which records the read)."""
    worker = await get_worker(session, worker_id)
    if principal.role is Role.INSPECTOR:
        authorize_read(principal, SERVICE, worker.commune_code)
    elif principal.role in (Role.OPERATOR, Role.ADMIN):
        authorize_write(principal, SERVICE, worker.commune_code)
    else:
        raise Forbidden("this role may not read personal data")
    client = service_client(runtime.settings, runtime.settings.households_api_url)
    try:
        data = await client.get_json(
            f"/persons/{worker.person_id}/personal-data",
            purpose=f"employment: {purpose} (asked by {principal.subject})",
        )
    finally:
        await client.aclose()
    if data is None:
        raise NotFound(f"the households registry no longer has person {worker.person_id}")
    return WorkerPersonalDataOut(worker_id=worker.id, **data)


@router.post("/placements", status_code=status.HTTP_201_CREATED, response_model=PlacementOut)
async def create_placement(
    body: PlacementIn, principal: CurrentPrincipal, session: SessionDep, runtime: Runtime
) -> PlacementOut:
    """Record a job for a worker; a repeat in the same period is flagged, not counted twice."""
    period = PlacementPeriod(policy(runtime).placement_period)
    try:
        async with session.begin():
            placement = await place_worker(session, principal, body, period)
    except IntegrityError as exc:  # the same external reference, recorded concurrently
        raise Conflict("body.external_ref: this placement is already recorded") from exc
    return placement_view(placement)


@router.get("/placements/{placement_id}", response_model=PlacementOut)
async def read_placement(
    placement_id: str, principal: CurrentPrincipal, session: SessionDep
) -> PlacementOut:
    """One placement."""
    placement = await session.get(Placement, placement_id)
    if placement is None:
        raise NotFound(f"placement {placement_id} does not exist")
    authorize_read(principal, SERVICE, placement.commune_code)
    return placement_view(placement)


@router.get("/workers/{worker_id}/placements", response_model=list[PlacementOut])
async def list_worker_placements(
    worker_id: str, principal: CurrentPrincipal, session: SessionDep
) -> list[PlacementOut]:
    """A worker's placements, oldest first, repeats flagged."""
    worker = await get_worker(session, worker_id)
    authorize_read(principal, SERVICE, worker.commune_code)
    rows = await session.execute(
        select(Placement)
        .where(Placement.worker_id == worker_id)
        .order_by(Placement.placed_on, Placement.created_at)
    )
    return [placement_view(p) for p in rows.scalars()]
