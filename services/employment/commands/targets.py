"""Setting a year's plan (placements, trainees, rural trainees) for a district or commune."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.commands.checks import rule_violations
from services.employment.domain.targets import TargetFigures, check_target_figures
from services.employment.events import TargetSet
from services.employment.models import Target, platform
from services.employment.records import authorize_unit, unit_and_communes
from services.employment.schemas import TargetIn
from shared.auth import Principal
from shared.outbox import append_event


async def set_target(
    session: AsyncSession, principal: Principal, year: int, unit_code: str, body: TargetIn
) -> Target:
    """Set (or change) a year's plan for the unit; officers of all its communes may."""
    with rule_violations():
        check_target_figures(TargetFigures(body.placements, body.trainees, body.rural_trainees))
    async with session.begin():
        unit, communes = await unit_and_communes(
            session, unit_code, date(year, 1, 1), date(year, 12, 31)
        )
        authorize_unit(principal, communes or frozenset({unit_code}), write=True)
        target = (
            await session.execute(
                select(Target).where(Target.year == year, Target.unit_code == unit_code)
            )
        ).scalar_one_or_none()
        if target is None:
            target = Target(id=str(uuid.uuid4()), year=year, unit_code=unit_code)
            session.add(target)
        target.unit_level = unit.level
        target.placements = body.placements
        target.trainees = body.trainees
        target.rural_trainees = body.rural_trainees
        await append_event(
            session,
            platform,
            TargetSet(
                target_id=target.id,
                year=year,
                unit_code=unit_code,
                unit_level=unit.level,
                placements=body.placements,
                trainees=body.trainees,
                rural_trainees=body.rural_trainees,
            ),
            target.id,
        )
    return target
