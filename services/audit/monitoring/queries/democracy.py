"""The democracy view: meetings and postings before recognition, complaints, voluntary
escapes of a review cycle, from the read models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors import check_review
from services.audit.monitoring.domain.standards import AuditPolicy, complaint_due
from services.audit.monitoring.models import (
    ViewComplaint,
    ViewEscape,
    ViewRecognition,
    ViewReviewMeeting,
    ViewReviewPosting,
)
from services.audit.monitoring.queries.read_models import (
    Scope,
    group_by,
    in_year,
    load,
    ratio,
    scope_of,
)
from services.audit.monitoring.schemas import (
    Democracy,
    DemocracyRow,
    ReviewCheck,
)


async def review_checks(
    session: AsyncSession, scope: Scope, year: int, policy: AuditPolicy
) -> list[ReviewCheck]:
    """Each list recognised in the year's review cycle, checked for meeting and posting."""
    recognitions = await load(session, ViewRecognition, scope, ViewRecognition.year == year)
    ids = sorted(r.review_id for r in recognitions)
    meetings = group_by(
        await load(session, ViewReviewMeeting, None, ViewReviewMeeting.review_id.in_(ids)),
        lambda m: m.review_id,
    )
    postings = group_by(
        await load(session, ViewReviewPosting, None, ViewReviewPosting.review_id.in_(ids)),
        lambda p: p.review_id,
    )
    checks = []
    for r in sorted(recognitions, key=lambda r: (r.commune_code, r.recognised_on, r.review_id)):
        c = check_review(r, meetings.get(r.review_id, []), postings.get(r.review_id, []), policy)
        checks.append(
            ReviewCheck(
                review_id=r.review_id,
                commune_code=r.commune_code,
                village=r.village,
                year=r.year,
                recognised_on=r.recognised_on,
                meeting_id=c.meeting_id,
                valid_meeting=c.valid_meeting,
                posted_on=c.posted_on,
                posting_ends_on=c.last_day,
                posted_for_required_days=c.posted_long_enough,
                households_reviewed=r.households_reviewed,
                evidence=list(c.evidence),
            )
        )
    return checks


def democracy_row(
    commune: str | None,
    checks: list[ReviewCheck],
    complaints: list[ViewComplaint],
    escapes: list[ViewEscape],
    as_of: date,
    policy: AuditPolicy,
) -> DemocracyRow:
    def mine(rows: Iterable[Any]) -> list[Any]:
        return [r for r in rows if commune in (None, r.commune_code)]

    checks, complaints, escapes = mine(checks), mine(complaints), mine(escapes)
    reviewed = sum(c.households_reviewed for c in checks)
    resolved = [c for c in complaints if c.resolved_on is not None and c.resolved_on <= as_of]
    on_time = [
        c
        for c in resolved
        if c.resolved_on is not None and c.resolved_on <= complaint_due(c.filed_on, policy)
    ]
    return DemocracyRow(
        commune_code=commune,
        recognitions=len(checks),
        recognitions_with_valid_meeting=ratio(sum(c.valid_meeting for c in checks), len(checks)),
        lists_posted_for_required_days=ratio(
            sum(c.posted_for_required_days for c in checks), len(checks)
        ),
        households_reviewed=reviewed,
        complaints_received=len(complaints),
        complaints_per_1000_reviewed=ratio(len(complaints), reviewed, 1000),
        complaints_resolved_on_time=ratio(len(on_time), len(complaints)),
        complaints_changing_class=ratio(
            sum(bool(c.class_changed) for c in resolved), len(resolved)
        ),
        complaints_open=len(complaints) - len(resolved),
        escape_registrations=len(escapes),
    )


async def build_democracy(
    session: AsyncSession,
    year: int,
    commune_code: str | None,
    communes: Scope,
    as_of: date,
    policy: AuditPolicy,
) -> Democracy:
    scope = scope_of(commune_code, communes)
    checks = await review_checks(session, scope, year, policy)
    complaints = [
        c for c in await load(session, ViewComplaint, scope) if in_year(c.filed_on, year, as_of)
    ]
    escapes = [
        e for e in await load(session, ViewEscape, scope) if in_year(e.registered_on, year, as_of)
    ]
    seen = sorted({r.commune_code for r in [*checks, *complaints, *escapes]})
    return Democracy(
        year=year,
        commune_code=commune_code,
        as_of=as_of,
        total=democracy_row(None, checks, complaints, escapes, as_of, policy),
        communes=[democracy_row(c, checks, complaints, escapes, as_of, policy) for c in seen],
        reviews=checks,
    )
