"""Working-day arithmetic for deadlines and public postings (pure, standard library only).

Saturdays, Sundays and the given public holidays are not working days. Every service that
counts a deadline in working days uses these functions, so all count the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

_ONE_DAY = timedelta(days=1)


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    """True for Monday–Friday that is not in `holidays`."""
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, n: int, holidays: Collection[date] = ()) -> date:
    """The n-th working day after `start` (start itself is not counted; n=0 gives `start`).

    A negative n is a ValueError.
    """
    if n < 0:
        raise ValueError(f"n must be ≥ 0 working days, got {n}")
    off = frozenset(holidays)
    day = start
    while n > 0:
        day += _ONE_DAY
        if is_working_day(day, off):
            n -= 1
    return day


def working_days_between(a: date, b: date, holidays: Collection[date] = ()) -> int:
    """Working days d with a < d ≤ b; negative when b is before a.

    Inverse of `add_working_days`: working_days_between(a, add_working_days(a, n)) == n.
    """
    if b < a:
        return -working_days_between(b, a, holidays)
    off = frozenset(holidays)
    count, day = 0, a
    while day < b:
        day += _ONE_DAY
        if is_working_day(day, off):
            count += 1
    return count


def posting_end(posted_on: date, working_days: int, holidays: Collection[date] = ()) -> date:
    """Last day of a public posting of `working_days` working days.

    The posting day counts as day 1 when it is a working day; posted on a weekend or
    holiday, the count starts on the next working day. Zero days ends on the posting day.
    """
    if working_days == 0:
        return posted_on
    return add_working_days(posted_on - _ONE_DAY, working_days, holidays)
