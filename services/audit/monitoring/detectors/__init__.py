"""The detectors: what counts as a breach, judged from the read models on an as-of day.

Each :class:`Group` judges one kind of subject (a review, a household, a person, a case)
and returns a verdict for every key it checked: the :class:`Breach` (with its evidence), or
``None`` when there is none. Nothing is a breach that the rules in domain.py do not call one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.domain.cover import (
    CardSpan,
    Cover,
    card_wait_days,
    excess_on,
    excluded_on,
    waiting_since,
)
from services.audit.monitoring.domain.standards import (
    AuditPolicy,
    application_due,
    complaint_due,
    meeting_qualifies,
    posting_last_day,
)
from services.audit.monitoring.domain.subjects import Touched
from services.audit.monitoring.models import (
    ViewApplication,
    ViewAssessment,
    ViewCard,
    ViewComplaint,
    ViewEntitlement,
    ViewHousing,
    ViewRecognition,
    ViewReviewMeeting,
    ViewReviewPosting,
)


@dataclass(frozen=True)
class Breach:
    kind: str
    subject_id: str
    commune_code: str | None
    summary: str
    evidence: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject_id}"


Verdicts = dict[str, Breach | None]
Ids = set[str] | None


def _key(kind: str, subject_id: str) -> str:
    return f"{kind}:{subject_id}"


async def _rows(session: AsyncSession, model: Any, column: Any, ids: Ids) -> list[Any]:
    query = select(model)
    if ids is not None:
        query = query.where(column.in_(sorted(ids)))
    return list((await session.execute(query)).scalars())


# --- reviews: meeting and posting before recognition ----------------------------------------

MEETING, POSTING = "recognition_without_valid_meeting", "recognised_before_posting_ended"


@dataclass(frozen=True)
class ReviewVerdict:
    valid_meeting: bool
    meeting_id: str | None
    posted_on: date | None
    last_day: date | None
    posted_long_enough: bool
    evidence: tuple[str, ...]


def check_review(
    recognition: ViewRecognition,
    meetings: Iterable[ViewReviewMeeting],
    postings: Iterable[ViewReviewPosting],
    policy: AuditPolicy,
) -> ReviewVerdict:
    """Was the recognised list preceded by a qualifying meeting and a full public posting?"""
    on = recognition.recognised_on
    held = sorted((m for m in meetings if m.held_on <= on), key=lambda m: (m.held_on, m.meeting_id))
    good = [m for m in held if meeting_qualifies(m.quorum_met, m.attendees, m.agreeing)]
    posted = sorted((p for p in postings if p.posted_on <= on), key=lambda p: p.leaf_index)
    if posted:
        last = posted[-1]
        posted_on: date | None = last.posted_on
        last_day: date | None = posting_last_day(
            last.posted_on, last.required_working_days, last.posting_ends_on, policy
        )
    elif recognition.posted_on is not None and recognition.posted_on <= on:
        posted_on = recognition.posted_on
        last_day = posting_last_day(posted_on, 0, recognition.posting_ends_on, policy)
    else:
        posted_on = last_day = None
    return ReviewVerdict(
        valid_meeting=bool(good),
        meeting_id=good[-1].meeting_id if good else recognition.meeting_id,
        posted_on=posted_on,
        last_day=last_day,
        posted_long_enough=last_day is not None and on > last_day,
        evidence=(recognition.event_id, *(m.event_id for m in held), *(p.event_id for p in posted)),
    )


async def judge_reviews(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {}
    for review_id in ids or ():
        verdicts[_key(MEETING, review_id)] = verdicts[_key(POSTING, review_id)] = None
    recognitions = await _rows(session, ViewRecognition, ViewRecognition.review_id, ids)
    wanted = {r.review_id for r in recognitions}
    meetings: dict[str, list[ViewReviewMeeting]] = defaultdict(list)
    for m in await _rows(session, ViewReviewMeeting, ViewReviewMeeting.review_id, wanted):
        meetings[m.review_id].append(m)
    postings: dict[str, list[ViewReviewPosting]] = defaultdict(list)
    for p in await _rows(session, ViewReviewPosting, ViewReviewPosting.review_id, wanted):
        postings[p.review_id].append(p)
    for r in recognitions:
        check = check_review(r, meetings[r.review_id], postings[r.review_id], policy)
        where = f"review {r.review_id} ({r.village}, commune {r.commune_code})"
        verdicts[_key(MEETING, r.review_id)] = (
            None
            if check.valid_meeting
            else Breach(
                MEETING,
                r.review_id,
                r.commune_code,
                f"List of {where} recognised on {r.recognised_on} without a village meeting with "
                f"quorum and ≥ 50% agreement ({len(meetings[r.review_id])} meeting(s) recorded"
                + (
                    ""
                    if check.posted_long_enough
                    else f"; {'posted' if check.posted_on else 'never posted'}"
                    ", not for the full period"
                )
                + ")",
                check.evidence,
            )
        )
        # A list no valid meeting approved could not be posted: one breach, named by the
        # meeting (its summary says the posting is missing too).
        posting_breach = check.valid_meeting and not check.posted_long_enough
        verdicts[_key(POSTING, r.review_id)] = (
            None
            if not posting_breach
            else Breach(
                POSTING,
                r.review_id,
                r.commune_code,
                f"List of {where} recognised on {r.recognised_on} "
                + (
                    f"before its public posting (from {check.posted_on}) ended on {check.last_day}"
                    if check.posted_on
                    else "without a public posting"
                ),
                check.evidence,
            )
        )
    return verdicts


# --- households: the latest assessment against the standard ---------------------------------

MISCLASSIFIED = "misclassified_assessment"


async def judge_households(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {_key(MISCLASSIFIED, h): None for h in ids or ()}
    latest: dict[str, ViewAssessment] = {}
    for a in await _rows(session, ViewAssessment, ViewAssessment.household_id, ids):
        held = latest.get(a.household_id)
        if held is None or (a.assessed_on, a.leaf_index) > (held.assessed_on, held.leaf_index):
            latest[a.household_id] = a
    for household_id, a in latest.items():
        verdicts[_key(MISCLASSIFIED, household_id)] = (
            None
            if not a.misclassified
            else Breach(
                MISCLASSIFIED,
                household_id,
                a.commune_code,
                f"Assessment {a.assessment_id} of {a.assessed_on} recorded '{a.recorded_class}' "
                f"but the standard in force gives '{a.expected_class}' (income "
                f"{a.income_per_person_month:,} VND/person/month, {a.area}, "
                f"{len(a.deprived_indicators)} deprivation(s) listed)",
                (a.event_id,),
            )
        )
    return verdicts


# --- persons: none missing, none duplicated, none in excess ---------------------------------

DUPLICATES, MISSING, EXCESS = "duplicate_cards", "card_missing", "card_excess"
LATE = "card_issued_late"


def card_span(card: ViewCard) -> CardSpan:
    return CardSpan(card.card_id, card.issued_on, card.valid_to, card.closed_on)


def cover(entitlement: ViewEntitlement) -> Cover:
    return Cover(entitlement.starts_on, entitlement.ends_on)


@dataclass
class Holder:
    """What the read models hold about one person's cover and cards."""

    entitlements: list[ViewEntitlement]
    cards: list[ViewCard]

    @property
    def commune_code(self) -> str | None:
        rows: list[Any] = [*self.cards, *self.entitlements]
        return rows[-1].commune_code if rows else None


async def holders(session: AsyncSession, ids: Ids) -> dict[str, Holder]:
    """Entitlements and cards by person (every person with either when ``ids`` is None)."""
    found: dict[str, Holder] = defaultdict(lambda: Holder([], []))
    for e in await _rows(session, ViewEntitlement, ViewEntitlement.person_id, ids):
        found[e.person_id].entitlements.append(e)
    for c in await _rows(session, ViewCard, ViewCard.person_id, ids):
        found[c.person_id].cards.append(c)
    return found


def judge_holder(person_id: str, h: Holder, on: date, policy: AuditPolicy) -> Verdicts:
    covers = [cover(e) for e in h.entitlements]
    spans = [card_span(c) for c in h.cards]
    commune = h.commune_code
    active = sorted((c for c in h.cards if card_span(c).active_on(on)), key=lambda c: c.card_id)
    verdicts: Verdicts = {_key(DUPLICATES, person_id): None, _key(MISSING, person_id): None}
    if len(active) > 1:
        verdicts[_key(DUPLICATES, person_id)] = Breach(
            DUPLICATES,
            person_id,
            commune,
            f"{len(active)} active cards on {on}: " + ", ".join(c.card_id for c in active),
            tuple(i for c in active for i in c.event_ids),
        )
    if excluded_on(covers, spans, on, policy):
        since = waiting_since(covers, spans, on)
        assert since is not None
        current = [e for e in h.entitlements if cover(e).covers(on)]
        verdicts[_key(MISSING, person_id)] = Breach(
            MISSING,
            person_id,
            commune,
            f"Entitled ({', '.join(sorted({e.group for e in current}))}) and waiting since "
            f"{since}, no active card on {on}: {(on - since).days} days, standard "
            f"{policy.card_service_standard_days}",
            tuple(i for e in current for i in e.event_ids)
            + tuple(i for c in h.cards for i in c.event_ids),
        )
    for card in h.cards:
        verdicts[_key(LATE, card.card_id)] = late_card(person_id, card, h, on, policy)
        key = _key(EXCESS, card.card_id)
        verdicts[key] = None
        if excess_on(covers, card_span(card), on, policy):
            verdicts[key] = Breach(
                EXCESS,
                card.card_id,
                card.commune_code,
                f"Card {card.card_id} of person {person_id} active on {on} without a current "
                f"entitlement (tolerance {policy.excess_tolerance_days} day(s))",
                tuple(card.event_ids) + tuple(i for e in h.entitlements for i in e.event_ids),
            )
    return verdicts


def late_card(
    person_id: str, card: ViewCard, h: Holder, on: date, policy: AuditPolicy
) -> Breach | None:
    """A card issued (by ``on``) to a person who had waited longer than the standard."""
    if card.renewal or card.issued_on > on:
        return None
    others = [card_span(c) for c in h.cards if c.card_id != card.card_id]
    days = card_wait_days([cover(e) for e in h.entitlements], others, card_span(card))
    if days is None or days <= policy.card_service_standard_days:
        return None
    return Breach(
        LATE,
        card.card_id,
        card.commune_code,
        f"Card {card.card_id} of person {person_id} issued on {card.issued_on}, {days} days "
        f"after the person became entitled (standard {policy.card_service_standard_days})",
        tuple(card.event_ids[:1]) + tuple(i for e in h.entitlements for i in e.event_ids),
    )


async def judge_persons(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {}
    for person_id in ids or ():
        verdicts[_key(DUPLICATES, person_id)] = verdicts[_key(MISSING, person_id)] = None
    for person_id, holder in (await holders(session, ids)).items():
        verdicts.update(judge_holder(person_id, holder, as_of, policy))
    return verdicts


# --- cases past their deadline (open backlog) -----------------------------------------------

COMPLAINT_OVERDUE, APPLICATION_OVERDUE = "complaint_overdue", "application_overdue"
HOUSING_DECISION, HOUSING_DISBURSEMENT = "housing_decision_overdue", "housing_disbursement_overdue"


def open_on(done: date | None, on: date) -> bool:
    return done is None or done > on


async def judge_complaints(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {_key(COMPLAINT_OVERDUE, c): None for c in ids or ()}
    for c in await _rows(session, ViewComplaint, ViewComplaint.complaint_id, ids):
        due = complaint_due(c.filed_on, policy)
        late = c.filed_on <= as_of and open_on(c.resolved_on, as_of) and as_of > due
        verdicts[_key(COMPLAINT_OVERDUE, c.complaint_id)] = (
            None
            if not late
            else Breach(
                COMPLAINT_OVERDUE,
                c.complaint_id,
                c.commune_code,
                f"Complaint of household {c.household_id} filed on {c.filed_on}, due {due}, "
                f"unresolved on {as_of}",
                tuple(i for i in (c.filed_event_id,) if i),
            )
        )
    return verdicts


async def judge_applications(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {_key(APPLICATION_OVERDUE, a): None for a in ids or ()}
    for a in await _rows(session, ViewApplication, ViewApplication.application_id, ids):
        due = application_due(a.kind or "", a.received_on, policy)
        late = a.received_on <= as_of and open_on(a.decided_on, as_of) and as_of > due
        verdicts[_key(APPLICATION_OVERDUE, a.application_id)] = (
            None
            if not late
            else Breach(
                APPLICATION_OVERDUE,
                a.application_id,
                a.commune_code,
                f"Application ({a.kind or 'unknown kind'}) of household {a.household_id} received "
                f"on {a.received_on}, decision due {due}, undecided on {as_of}",
                tuple(a.event_ids),
            )
        )
    return verdicts


def housing_breaches(h: ViewHousing, as_of: date, policy: AuditPolicy) -> Verdicts:
    verdicts: Verdicts = {
        _key(HOUSING_DECISION, h.application_id): None,
        _key(HOUSING_DISBURSEMENT, h.application_id): None,
    }
    decided = min((d for d in (h.approved_on, h.refused_on) if d is not None), default=None)
    days = policy.housing_decision_days
    if (
        days is not None
        and h.applied_on <= as_of
        and open_on(decided, as_of)
        and (as_of - h.applied_on).days > days
    ):
        verdicts[_key(HOUSING_DECISION, h.application_id)] = Breach(
            HOUSING_DECISION,
            h.application_id,
            h.commune_code,
            f"Housing application of household {h.household_id} applied on {h.applied_on}, "
            f"undecided on {as_of} (standard {days} days)",
            tuple(h.event_ids),
        )
    days = policy.housing_disbursement_days
    approved = h.approved_on
    if (
        days is not None
        and approved is not None
        and approved <= as_of
        and open_on(h.disbursed_on, as_of)
        and (as_of - approved).days > days
    ):
        verdicts[_key(HOUSING_DISBURSEMENT, h.application_id)] = Breach(
            HOUSING_DISBURSEMENT,
            h.application_id,
            h.commune_code,
            f"Housing loan of household {h.household_id} approved on {approved}, not disbursed "
            f"on {as_of} (standard {days} days)",
            tuple(h.event_ids),
        )
    return verdicts


async def judge_housing(
    session: AsyncSession, ids: Ids, as_of: date, policy: AuditPolicy
) -> Verdicts:
    verdicts: Verdicts = {}
    for application_id in ids or ():
        verdicts[_key(HOUSING_DECISION, application_id)] = None
        verdicts[_key(HOUSING_DISBURSEMENT, application_id)] = None
    for h in await _rows(session, ViewHousing, ViewHousing.application_id, ids):
        verdicts.update(housing_breaches(h, as_of, policy))
    return verdicts


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
