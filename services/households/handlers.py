"""What the households service does with the events it consumes.

It follows its own ``household_reclassified`` events into a per-commune count of
households by class (the denominator and numerators of the poor and near-poor rates).
"""

from __future__ import annotations

from sqlalchemy import select

from services.households.events import HouseholdReclassified
from services.households.models import CommuneClassCount
from shared.consumer import HandlerContext, On


async def count_reclassification(ctx: HandlerContext, event: HouseholdReclassified) -> None:
    for poverty_class, delta in ((event.from_class, -1), (event.to_class, +1)):
        row = (
            await ctx.session.execute(
                select(CommuneClassCount).where(
                    CommuneClassCount.commune_code == event.commune_code,
                    CommuneClassCount.poverty_class == poverty_class,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            row = CommuneClassCount(
                commune_code=event.commune_code, poverty_class=poverty_class, households=0
            )
            ctx.session.add(row)
        row.households += delta


HANDLERS = [On(HouseholdReclassified.ce_type, HouseholdReclassified, count_reclassification)]
