"""The detectors: what counts as a breach, judged from the read models on an as-of day.

Each :class:`Group` judges one kind of subject (a review, a household, a person, a case)
and returns a verdict for every key it checked: the :class:`Breach` (with its evidence), or
``None`` when there is none. Nothing is a breach that the rules in ``monitoring/domain/`` do
not call one. The groups, by subject: :mod:`.reviews` (reviews, households), :mod:`.cards`
(card holders), :mod:`.cases` (complaints, applications, housing); :mod:`.breach` is what
they return.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors.breach import Breach, Ids, Verdicts
from services.audit.monitoring.detectors.cards import (
    DUPLICATES,
    EXCESS,
    LATE,
    MISSING,
    Holder,
    card_span,
    cover,
    holders,
    judge_persons,
)
from services.audit.monitoring.detectors.cases import (
    APPLICATION_OVERDUE,
    COMPLAINT_OVERDUE,
    HOUSING_DECISION,
    HOUSING_DISBURSEMENT,
    judge_applications,
    judge_complaints,
    judge_housing,
)
from services.audit.monitoring.detectors.reviews import (
    MEETING,
    MISCLASSIFIED,
    POSTING,
    check_review,
    judge_households,
    judge_reviews,
)
from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.domain.subjects import Touched

__all__ = [
    "GROUPS",
    "KINDS",
    "RAISED_ON_EVENT",
    "Breach",
    "Group",
    "Holder",
    "Verdicts",
    "card_span",
    "check_review",
    "cover",
    "holders",
]


# --- the groups ------------------------------------------------------------------------------

Judge = Callable[[AsyncSession, Ids, date, AuditPolicy], Awaitable[Verdicts]]


@dataclass(frozen=True)
class Group:
    kinds: tuple[str, ...]
    #: True when the verdict depends on the as-of day (raised by the periodic evaluation).
    timed: bool
    subjects: Callable[[Touched], set[str]]
    judge: Judge


GROUPS: tuple[Group, ...] = (
    Group((MEETING, POSTING), False, lambda t: t.reviews, judge_reviews),
    Group((MISCLASSIFIED,), False, lambda t: t.households, judge_households),
    Group((DUPLICATES, MISSING, EXCESS, LATE), True, lambda t: t.persons, judge_persons),
    Group((COMPLAINT_OVERDUE,), True, lambda t: t.complaints, judge_complaints),
    Group((APPLICATION_OVERDUE,), True, lambda t: t.applications, judge_applications),
    Group((HOUSING_DECISION, HOUSING_DISBURSEMENT), True, lambda t: t.housing, judge_housing),
)
KINDS = tuple(kind for group in GROUPS for kind in group.kinds)
#: Kinds one event makes certain, raised as soon as it is recorded; the others are raised by
#: the periodic evaluation (and cleared by either).
RAISED_ON_EVENT = frozenset({MEETING, POSTING, MISCLASSIFIED, DUPLICATES, LATE})
