"""Priority groups of Decision 33/2015 and the ranking of a commune's applications by them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum


class PriorityGroup(IntEnum):
    """The seven priority groups of Decision 33/2015, 1 first."""

    ELDERLY_LONE_OR_DISABLED = 1
    ETHNIC_MINORITY = 2
    DISASTER_PRONE_AREA = 3
    EXTREMELY_DIFFICULT_VILLAGE = 4
    DIFFICULT_COMMUNE = 5
    POOR_DISTRICT_30A = 6
    OTHERS = 7


@dataclass(frozen=True)
class PriorityFlags:
    elderly_lone_or_disabled: bool = False
    ethnic_minority: bool = False
    disaster_prone_area: bool = False
    extremely_difficult_village: bool = False
    difficult_commune: bool = False
    poor_district_30a: bool = False


def priority_group(flags: PriorityFlags) -> PriorityGroup:
    """The most urgent group the household belongs to (group 7 when none applies)."""
    for group, applies in (
        (PriorityGroup.ELDERLY_LONE_OR_DISABLED, flags.elderly_lone_or_disabled),
        (PriorityGroup.ETHNIC_MINORITY, flags.ethnic_minority),
        (PriorityGroup.DISASTER_PRONE_AREA, flags.disaster_prone_area),
        (PriorityGroup.EXTREMELY_DIFFICULT_VILLAGE, flags.extremely_difficult_village),
        (PriorityGroup.DIFFICULT_COMMUNE, flags.difficult_commune),
        (PriorityGroup.POOR_DISTRICT_30A, flags.poor_district_30a),
    ):
        if applies:
            return group
    return PriorityGroup.OTHERS


@dataclass(frozen=True)
class RankedApplication:
    application_id: str
    priority_group: int
    applied_on: date
    rank: int = 0


def rank_applications(candidates: Sequence[RankedApplication]) -> list[RankedApplication]:
    """Ranked 1.. by priority group, then earlier application, then id (a stable tie-break)."""
    ordered = sorted(candidates, key=lambda c: (c.priority_group, c.applied_on, c.application_id))
    return [
        RankedApplication(c.application_id, c.priority_group, c.applied_on, rank)
        for rank, c in enumerate(ordered, start=1)
    ]


def split_by_quota(
    ranked: Sequence[RankedApplication], remaining_quota: int
) -> tuple[list[RankedApplication], list[RankedApplication]]:
    """(approved, beyond the quota): the best-ranked ``remaining_quota`` are approved."""
    cut = max(0, remaining_quota)
    ordered = sorted(ranked, key=lambda r: r.rank)
    return ordered[:cut], ordered[cut:]
