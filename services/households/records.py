"""Row lookups shared by the write path and the reads (404 when the row is absent)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.households.models import Household
from shared.problems import NotFound


async def get_household(
    session: AsyncSession, household_id: str, *, for_update: bool = False
) -> Household:
    """The household (locked for the transaction when `for_update`); NotFound when absent."""
    household = await session.get(Household, household_id, with_for_update=for_update)
    if household is None:
        raise NotFound(f"household {household_id} does not exist")
    return household
