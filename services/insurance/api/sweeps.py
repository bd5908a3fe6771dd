"""Route of the sweep (what the passing of days changes)."""

from __future__ import annotations

from fastapi import APIRouter

from services.insurance import commands
from services.insurance.api.deps import Admin, OnQuery, today
from services.insurance.schemas import SweepOut
from shared.service import SessionDep

router = APIRouter(tags=["insurance"])


@router.post("/sweeps", response_model=SweepOut)
async def run_sweep(principal: Admin, session: SessionDep, on: OnQuery = None) -> SweepOut:
    """Apply what time changes by ``on`` (6th birthdays, graces run out, cards expired).

    The service runs this itself periodically; admins may run it for a given day.
    """
    result = await commands.run_sweep(session, on or today())
    return SweepOut(**vars(result))
