"""Priority workers: who comes first, and a household's class on a given day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

#: Household classes whose members are priority workers (and count in the priority share).
PRIORITY_CLASSES = frozenset({"poor", "near_poor"})


@dataclass(frozen=True)
class PriorityFlags:
    """Why a worker comes first: poor or near-poor household, ethnic minority, rural area."""

    poor_household: bool
    near_poor_household: bool
    ethnic_minority: bool
    rural_worker: bool

    @property
    def priority(self) -> bool:
        return (
            self.poor_household
            or self.near_poor_household
            or self.ethnic_minority
            or self.rural_worker
        )


def priority_flags(household_class: str, area: str | None, ethnic_minority: bool) -> PriorityFlags:
    """The flags of a member of a household of ``household_class`` in ``area``."""
    return PriorityFlags(
        poor_household=household_class == "poor",
        near_poor_household=household_class == "near_poor",
        ethnic_minority=ethnic_minority,
        rural_worker=area == "rural",
    )


def class_on(history: Iterable[tuple[date, str]], on: date, before: str = "unclassified") -> str:
    """The household class in force on ``on``: the last change effective on or before it.

    ``history`` holds (effective date, class) in the order the changes were recorded; of two
    changes effective the same day the later-recorded one wins. ``before`` is the class
    before the first known change.
    """
    current, current_from = before, None
    for effective, poverty_class in history:
        if effective <= on and (current_from is None or effective >= current_from):
            current, current_from = poverty_class, effective
    return current
