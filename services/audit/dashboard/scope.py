"""What a dashboard page covers: the review year, the day it is measured on, the communes
the inspector may read and the service standards the views are measured against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Query

from services.audit.dashboard.areas import area_name
from services.audit.dashboard.rendering import Visit
from services.audit.monitoring.api.deps import policy_of
from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.queries import default_as_of
from shared.auth import readable_communes
from shared.service import ServiceRuntime

FIRST_YEAR = 2016  # the multidimensional poverty standard (Decision 59/2015) starts in 2016
YearQuery = Annotated[int | None, Query(ge=FIRST_YEAR, le=2100)]
#: A commune code; empty (the "all communes" choice of a filter form) means none.
CommuneQuery = Annotated[str | None, Query(pattern=r"^(\d{5})?$")]


@dataclass(frozen=True)
class Scope:
    year: int
    as_of: date
    communes: frozenset[str] | None
    policy: AuditPolicy

    def name(self, code: str) -> str:
        """A commune's (or other unit's) name as of the page's day."""
        return area_name(code, self.as_of)

    @property
    def years(self) -> list[int]:
        """The years the year selector offers, newest first."""
        return list(range(max(date.today().year, self.year) + 1, FIRST_YEAR - 1, -1))


def page_scope(visit: Visit, runtime: ServiceRuntime, year: int | None) -> Scope:
    """The year asked for (default: this year by the audit's clock) and what goes with it."""
    policy = policy_of(runtime)  # the standards and clock the views API uses too
    chosen = year or policy.today().year
    assert visit.principal is not None
    return Scope(
        year=chosen,
        as_of=default_as_of(chosen, policy),
        communes=readable_communes(visit.principal),
        policy=policy,
    )
