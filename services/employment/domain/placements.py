"""Placements: their kinds, the period a worker counts once in, where the job must be."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from services.employment.domain.errors import RuleBroken


class PlacementKind(StrEnum):
    DOMESTIC_EMPLOYER = "domestic_employer"
    LABOUR_EXPORT = "labour_export"  # xuất khẩu lao động: work abroad under contract
    SELF_EMPLOYMENT = "self_employment"  # including a household business
    PUBLIC_WORKS = "public_works"


class PlacementPeriod(StrEnum):
    """Within one period a worker counts once towards the targets, however often placed.

    The default (``ANSINH_EMPLOYMENT_PLACEMENT_PERIOD``) is the calendar year: the plan counts
    workers given jobs in a year, so a worker placed in March and again in September is one
    of the 4,000. ``calendar_month`` counts a worker at most once a month instead. A repeat
    is recorded and flagged (``worker_placed.repeat_in_period``), never counted again; the
    count takes each worker's earliest placement in the period, whichever was recorded first.
    """

    CALENDAR_MONTH = "calendar_month"
    CALENDAR_YEAR = "calendar_year"


def period_key(day: date, period: PlacementPeriod) -> str:
    """``"2019"`` or ``"2019-03"``: the period ``day`` falls in."""
    if period is PlacementPeriod.CALENDAR_YEAR:
        return f"{day.year:04d}"
    return f"{day.year:04d}-{day.month:02d}"


def check_placement(kind: PlacementKind, employer: str | None, destination: str | None) -> None:
    """Raise RuleBroken unless the placement says where the job is, as its kind requires."""
    if kind is PlacementKind.LABOUR_EXPORT:
        if destination is None:
            raise RuleBroken(
                "labour export needs the destination country", "body.destination_country"
            )
        return
    if destination is not None:
        raise RuleBroken(
            "a destination country is only for labour export", "body.destination_country"
        )
    if kind in (PlacementKind.DOMESTIC_EMPLOYER, PlacementKind.PUBLIC_WORKS) and not employer:
        raise RuleBroken(f"a {kind.value} placement needs the employer", "body.employer")
