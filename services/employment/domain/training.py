"""Vocational training: course dates by level, enrolment, completion, graduates' outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Literal

from services.employment.domain.dates import add_months
from services.employment.domain.errors import RuleBroken


class CourseLevel(StrEnum):
    ELEMENTARY = "elementary"  # sơ cấp: under three months
    OTHER = "other"


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
