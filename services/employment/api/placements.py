"""Placements: recording a job for a worker, one placement, a worker's placements."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.employment import queries
from services.employment.api.deps import CurrentPrincipal, Policy, SessionDep
from services.employment.commands.placements import record_placement
from services.employment.schemas import PlacementIn, PlacementOut
from services.employment.views import placement_view

# Tagged with the workers, as the published API has always grouped them.
router = APIRouter(tags=["workers"])


@router.post("/placements", status_code=status.HTTP_201_CREATED, response_model=PlacementOut)
async def create_placement(
    body: PlacementIn, principal: CurrentPrincipal, session: SessionDep, policy: Policy
) -> PlacementOut:
    """Record a job for a worker; a repeat in the same period is flagged, not counted twice."""
    return placement_view(await record_placement(session, principal, body, policy))


@router.get("/placements/{placement_id}", response_model=PlacementOut)
async def read_placement(
    placement_id: str, principal: CurrentPrincipal, session: SessionDep
) -> PlacementOut:
    """One placement."""
    return await queries.read_placement(session, principal, placement_id)


@router.get("/workers/{worker_id}/placements", response_model=list[PlacementOut])
async def list_worker_placements(
    worker_id: str, principal: CurrentPrincipal, session: SessionDep
) -> list[PlacementOut]:
    """A worker's placements, oldest first, repeats flagged."""
    return await queries.worker_placements(session, principal, worker_id)
