"""Targets: a year's plan for a unit against the placements and trainees that count."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.employment.domain.errors import RuleBroken
from services.employment.domain.placements import PlacementPeriod, period_key


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


def check_target_figures(figures: TargetFigures) -> None:
    """Raise RuleBroken unless the plan sets at least one figure."""
    if figures.placements is None and figures.trainees is None and figures.rural_trainees is None:
        raise RuleBroken(
            "a target sets at least one of placements, trainees, rural_trainees",
            "body.placements",
        )


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
