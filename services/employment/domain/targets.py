"""Employment rules: priority flags, courses, graduates' outcomes, placements and targets.

Pure functions over plain values (standard library only): the API, the event handlers and
the bulk import all decide through these, so a rule lives in exactly one place.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

#: Household classes whose members are priority workers (and count in the priority share).
PRIORITY_CLASSES = frozenset({"poor", "near_poor"})


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


class CourseLevel(StrEnum):
    ELEMENTARY = "elementary"  # sơ cấp: under three months
    OTHER = "other"


class RuleBroken(ValueError):
    """An input breaks an employment rule; ``field`` names the input (``body.x`` paths)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# --- priority workers -----------------------------------------------------------------


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


# --- dates ----------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months; the 31st becomes the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def period_key(day: date, period: PlacementPeriod) -> str:
    """``"2019"`` or ``"2019-03"``: the period ``day`` falls in."""
    if period is PlacementPeriod.CALENDAR_YEAR:
        return f"{day.year:04d}"
    return f"{day.year:04d}-{day.month:02d}"


# --- vocational training --------------------------------------------------------------


def check_course(
    level: CourseLevel, starts_on: date, ends_on: date, *, elementary_max_months: int = 3
) -> None:
    """Raise RuleBroken unless the course's dates fit its level."""
    if ends_on < starts_on:
        raise RuleBroken("a course cannot end before it starts", "body.ends_on")
    if level is CourseLevel.ELEMENTARY and ends_on >= add_months(starts_on, elementary_max_months):
        raise RuleBroken(
            f"an elementary course lasts under {elementary_max_months} months "
            f"(it would have to end before {add_months(starts_on, elementary_max_months)})",
            "body.ends_on",
        )


def check_enrolment_date(enrolled_on: date, course_ends_on: date) -> None:
    if enrolled_on > course_ends_on:
        raise RuleBroken("the course has ended: no enrolment after its end", "body.enrolled_on")


def check_completion(completed_on: date, enrolled_on: date, course_starts_on: date) -> None:
    if completed_on < max(enrolled_on, course_starts_on):
        raise RuleBroken(
            "completion cannot precede the enrolment or the course start", "body.completed_on"
        )


def check_drop_out(dropped_on: date, enrolled_on: date) -> None:
    if dropped_on < enrolled_on:
        raise RuleBroken("a drop-out cannot precede the enrolment", "body.dropped_on")


GraduateOutcome = Literal["placed", "not_placed", "pending"]


def graduate_outcome(
    completed_on: date, placement_dates: Iterable[date], window_months: int, as_of: date
) -> GraduateOutcome:
    """Whether a graduate got a job within ``window_months`` of completing the course.

    ``pending`` while the window is still open on ``as_of`` and no job is recorded yet.
    A placement dated before the completion does not count (it is not the course's result).
    """
    window_end = add_months(completed_on, window_months)
    if any(completed_on <= placed <= window_end for placed in placement_dates if placed <= as_of):
        return "placed"
    return "pending" if as_of < window_end else "not_placed"


# --- targets --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementFact:
    placement_id: str
    worker_id: str
    placed_on: date
    household_class: str


@dataclass(frozen=True)
class TraineeFact:
    enrolment_id: str
    worker_id: str
    enrolled_on: date
    dropped_on: date | None
    rural_worker: bool
    household_class: str


@dataclass(frozen=True)
class TargetFigures:
    """A year's plan for one unit; None where the plan sets no figure."""

    placements: int | None
    trainees: int | None
    rural_trainees: int | None


@dataclass(frozen=True)
class Measure:
    """One target line: what was planned, what was achieved, how much went to priority homes."""

    target: int | None
    achieved: int
    poor: int
    near_poor: int

    @property
    def percent_of_target(self) -> float | None:
        if not self.target:
            return None
        return round(100 * self.achieved / self.target, 1)

    @property
    def poor_and_near_poor_share_percent(self) -> float | None:
        if not self.achieved:
            return None
        return round(100 * (self.poor + self.near_poor) / self.achieved, 1)


@dataclass(frozen=True)
class TargetProgress:
    year: int
    as_of: date
    placements: Measure
    trainees: Measure
    rural_trainees: Measure


def year_window(year: int, as_of: date) -> tuple[date, date] | None:
    """The days of ``year`` up to ``as_of``; None when ``as_of`` precedes the year."""
    start, end = date(year, 1, 1), min(as_of, date(year, 12, 31))
    return (start, end) if end >= start else None


def counted_placements(
    placements: Iterable[PlacementFact], period: PlacementPeriod, year: int, as_of: date
) -> list[PlacementFact]:
    """The placements that count in ``year`` up to ``as_of``: each worker's first per period.

    A worker placed again in the same period (a repeat) is not counted twice, whichever of the
    two was recorded first.
    """
    window = year_window(year, as_of)
    if window is None:
        return []
    first: dict[tuple[str, str], PlacementFact] = {}
    for fact in placements:
        if not window[0] <= fact.placed_on <= window[1]:
            continue
        key = (fact.worker_id, period_key(fact.placed_on, period))
        held = first.get(key)
        if held is None or (fact.placed_on, fact.placement_id) < (
            held.placed_on,
            held.placement_id,
        ):
            first[key] = fact
    return sorted(first.values(), key=lambda f: (f.placed_on, f.placement_id))


def counted_trainees(trainees: Iterable[TraineeFact], year: int, as_of: date) -> list[TraineeFact]:
    """Workers in training in ``year`` up to ``as_of``: enrolled, not dropped out by then.

    The target counts workers, so a worker enrolled in two courses that year counts once.
    """
    window = year_window(year, as_of)
    if window is None:
        return []
    first: dict[str, TraineeFact] = {}
    for fact in trainees:
        if not window[0] <= fact.enrolled_on <= window[1]:
            continue
        if fact.dropped_on is not None and fact.dropped_on <= as_of:
            continue
        held = first.get(fact.worker_id)
        if held is None or (fact.enrolled_on, fact.enrolment_id) < (
            held.enrolled_on,
            held.enrolment_id,
        ):
            first[fact.worker_id] = fact
    return sorted(first.values(), key=lambda f: (f.enrolled_on, f.enrolment_id))


def _measure(target: int | None, classes: Sequence[str]) -> Measure:
    return Measure(
        target=target,
        achieved=len(classes),
        poor=sum(1 for c in classes if c == "poor"),
        near_poor=sum(1 for c in classes if c == "near_poor"),
    )


def target_progress(
    figures: TargetFigures,
    *,
    year: int,
    as_of: date,
    placements: Iterable[PlacementFact],
    trainees: Iterable[TraineeFact],
    period: PlacementPeriod,
) -> TargetProgress:
    """Plan against delivery for one unit and year, on ``as_of``."""
    placed = counted_placements(placements, period, year, as_of)
    trained = counted_trainees(trainees, year, as_of)
    rural = [t for t in trained if t.rural_worker]
    return TargetProgress(
        year=year,
        as_of=as_of,
        placements=_measure(figures.placements, [p.household_class for p in placed]),
        trainees=_measure(figures.trainees, [t.household_class for t in trained]),
        rural_trainees=_measure(figures.rural_trainees, [t.household_class for t in rural]),
    )


# --- administrative units -------------------------------------------------------------

UnitLevel = Literal["province", "district", "commune"]


@dataclass(frozen=True)
class AdminUnit:
    """A province, district or commune as it existed from ``valid_from`` to ``valid_to``."""

    code: str
    name: str
    level: UnitLevel
    parent_code: str | None
    valid_from: date | None = None
    valid_to: date | None = None

    def overlaps(self, start: date, end: date) -> bool:
        return (self.valid_from is None or self.valid_from <= end) and (
            self.valid_to is None or self.valid_to >= start
        )


def unit_in_force(
    units: Iterable[AdminUnit], code: str, start: date, end: date
) -> AdminUnit | None:
    """The unit ``code`` as it existed at some time between ``start`` and ``end``."""
    found = [u for u in units if u.code == code and u.overlaps(start, end)]
    return max(found, key=lambda u: u.valid_from or date.min) if found else None


def communes_of(units: Sequence[AdminUnit], code: str, start: date, end: date) -> frozenset[str]:
    """The commune codes a target for unit ``code`` covers between ``start`` and ``end``.

    A commune covers itself; a district the communes that belonged to it at any time in the
    span (so a year in which the district tier was abolished still sees its first half).
    """
    unit = unit_in_force(units, code, start, end)
    if unit is None:
        return frozenset()
    if unit.level == "commune":
        return frozenset({code})
    children = frozenset(
        u.code
        for u in units
        if u.level == "commune" and u.parent_code == code and u.overlaps(start, end)
    )
    if unit.level == "district":
        return children
    districts = [
        u.code
        for u in units
        if u.level == "district" and u.parent_code == code and u.overlaps(start, end)
    ]
    nested = (communes_of(units, d, start, end) for d in districts)
    return children.union(*nested)


# --- placements -----------------------------------------------------------------------


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
