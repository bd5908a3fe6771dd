"""What the households service does with the events it consumes.

It follows its own ``household_reclassified`` events into a per-commune count of
households by class (the denominator and numerators of the poor and near-poor rates).
"""

from __future__ import annotations

from services.households.events import HouseholdReclassified
from services.households.models import CommuneClassCount
from shared.consumer import HandlerContext, On
from shared.db import add_to_counter


async def count_reclassification(ctx: HandlerContext, event: HouseholdReclassified) -> None:
    for poverty_class, delta in ((event.from_class, -1), (event.to_class, +1)):
        await add_to_counter(
            ctx.session,
            CommuneClassCount.__table__,
            {"commune_code": event.commune_code, "poverty_class": poverty_class},
            "households",
            delta,
        )


HANDLERS = [On(HouseholdReclassified.ce_type, HouseholdReclassified, count_reclassification)]
