"""Reviews (meeting and posting before recognition) and households (the latest assessment
against the poverty standard)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors.breach import Breach, Ids, Verdicts, finding_key, rows_of
from services.audit.monitoring.domain.standards import (
    AuditPolicy,
    meeting_qualifies,
    posting_last_day,
)
from services.audit.monitoring.models import (
    ViewAssessment,
    ViewRecognition,
    ViewReviewMeeting,
    ViewReviewPosting,
)

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
        verdicts[finding_key(MEETING, review_id)] = verdicts[finding_key(POSTING, review_id)] = None
    recognitions = await rows_of(session, ViewRecognition, ViewRecognition.review_id, ids)
    wanted = {r.review_id for r in recognitions}
    meetings: dict[str, list[ViewReviewMeeting]] = defaultdict(list)
    for m in await rows_of(session, ViewReviewMeeting, ViewReviewMeeting.review_id, wanted):
        meetings[m.review_id].append(m)
    postings: dict[str, list[ViewReviewPosting]] = defaultdict(list)
    for p in await rows_of(session, ViewReviewPosting, ViewReviewPosting.review_id, wanted):
        postings[p.review_id].append(p)
    for r in recognitions:
        check = check_review(r, meetings[r.review_id], postings[r.review_id], policy)
        where = f"review {r.review_id} ({r.village}, commune {r.commune_code})"
        verdicts[finding_key(MEETING, r.review_id)] = (
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
        verdicts[finding_key(POSTING, r.review_id)] = (
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
    verdicts: Verdicts = {finding_key(MISCLASSIFIED, h): None for h in ids or ()}
    latest: dict[str, ViewAssessment] = {}
    for a in await rows_of(session, ViewAssessment, ViewAssessment.household_id, ids):
        held = latest.get(a.household_id)
        if held is None or (a.assessed_on, a.leaf_index) > (held.assessed_on, held.leaf_index):
            latest[a.household_id] = a
    for household_id, a in latest.items():
        verdicts[finding_key(MISCLASSIFIED, household_id)] = (
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
