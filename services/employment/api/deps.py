"""The dependencies of the employment routes, as Annotated types."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query

from services.employment.settings import EmploymentSettings, policy
from shared.auth import CurrentPrincipal
from shared.service import Runtime, SessionDep

__all__ = [
    "AsOf",
    "CommuneQuery",
    "CurrentPrincipal",
    "DryRun",
    "Policy",
    "SessionDep",
    "UnitCode",
    "Year",
    "YearQuery",
]


async def _policy(runtime: Runtime) -> EmploymentSettings:
    # async: FastAPI runs a plain-def dependency on its thread pool, a round trip per request
    return policy(runtime)


#: The running service's counting and training policy (ANSINH_EMPLOYMENT_*).
Policy = Annotated[EmploymentSettings, Depends(_policy)]
CommuneQuery = Annotated[str | None, Query(pattern=r"^[0-9]{5}$")]
YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]
Year = Annotated[int, Path(ge=2000, le=2100)]
UnitCode = Annotated[str, Path(pattern=r"^\d{2,5}$", description="district or commune code")]
DryRun = Annotated[bool, Query(description="check every row, then write nothing")]
AsOf = Annotated[date | None, Query(description="progress on this day (default today)")]
