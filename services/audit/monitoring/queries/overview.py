"""The democracy, fairness and overview views and the findings list, from the read models.

Called through services/audit/views.py (the stable entry points); timeliness and targets
are in view_lags.py, the household drill-down in view_households.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors import Holder, card_span, check_review, cover
from services.audit.monitoring.domain.cover import excess_on, excluded_on
from services.audit.monitoring.domain.standards import AuditPolicy, complaint_due
from services.audit.monitoring.models import (
    ViewAssessment,
    ViewComplaint,
    ViewEnrolment,
    ViewEscape,
    ViewFinding,
    ViewHousing,
    ViewPerson,
    ViewPlacement,
    ViewRecognition,
    ViewReviewMeeting,
    ViewReviewPosting,
)
from services.audit.monitoring.queries.households import (
    build_household_page,
    build_household_summary,
    finding_out,
)
from services.audit.monitoring.queries.read_models import (
    ClassBook,
    Scope,
    active_cards,
    entitled_on,
    group_by,
    in_year,
    load,
    load_class_book,
    load_holders,
    ratio,
    scope_of,
)
from services.audit.monitoring.queries.timeliness import build_targets, build_timeliness
from services.audit.monitoring.schemas import (
    CommuneRow,
    Democracy,
    DemocracyRow,
    DistributionRow,
    Fairness,
    FairnessRow,
    FindingPage,
    Overview,
    ReviewCheck,
)

__all__ = [
    "build_commune_rows",
    "build_democracy",
    "build_fairness",
    "build_household_page",
    "build_household_summary",
    "build_overview",
    "build_targets",
    "build_timeliness",
    "find_findings",
]


# --- democracy -------------------------------------------------------------------------------


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


# --- fairness --------------------------------------------------------------------------------


def fairness_row(
    commune: str | None,
    holders: Iterable[Holder],
    assessments: Iterable[ViewAssessment],
    as_of: date,
    policy: AuditPolicy,
) -> FairnessRow:
    mine = [h for h in holders if commune in (None, h.commune_code)]
    entitled = [h for h in mine if entitled_on(h, as_of)]
    excluded = [
        h
        for h in entitled
        if excluded_on(
            [cover(e) for e in h.entitlements], [card_span(c) for c in h.cards], as_of, policy
        )
    ]
    active = [(h, c) for h in mine for c in active_cards(h, as_of)]
    excess = [
        c
        for h, c in active
        if excess_on([cover(e) for e in h.entitlements], card_span(c), as_of, policy)
    ]
    per_person = Counter(id(h) for h, _ in active)
    checked = [
        a for a in assessments if commune in (None, a.commune_code) and a.expected_class is not None
    ]
    return FairnessRow(
        commune_code=commune,
        exclusion=ratio(len(excluded), len(entitled)),
        excess=ratio(len(excess), len(active)),
        duplicates=ratio(sum(1 for n in per_person.values() if n > 1), len(per_person)),
        misclassification=ratio(sum(a.misclassified for a in checked), len(checked)),
    )


async def _beneficiaries(
    session: AsyncSession,
    scope: Scope,
    holders: dict[str, Holder],
    persons: list[ViewPerson],
    year: int,
    as_of: date,
) -> dict[str, set[str]]:
    """Person ids receiving each benefit: an active card on ``as_of``; in the year, training
    (not dropped out), a placement, or a housing loan to their household."""
    enrolments = await load(session, ViewEnrolment, scope)
    placements = await load(session, ViewPlacement, scope)
    loans = {
        h.household_id
        for h in await load(session, ViewHousing, scope)
        if in_year(h.disbursed_on, year, as_of)
    }
    return {
        "health_insurance_card": {p for p, h in holders.items() if active_cards(h, as_of)},
        "vocational_training": {
            e.person_id
            for e in enrolments
            if e.person_id
            and in_year(e.enrolled_on, year, as_of)
            and (e.dropped_on is None or e.dropped_on > as_of)
        },
        "job_placement": {p.person_id for p in placements if in_year(p.placed_on, year, as_of)},
        "housing_loan": {p.person_id for p in persons if p.household_id in loans},
    }


def distribution(
    persons: list[ViewPerson], book: ClassBook, benefits: dict[str, set[str]], as_of: date
) -> list[DistributionRow]:
    """Each group's share of the eligible (members of poor and near-poor households on
    ``as_of``) against its share of each benefit, by commune, ethnicity and sex."""
    known = {p.person_id: p for p in persons}
    eligible = {
        p.person_id
        for p in persons
        if book.class_on(p.household_id, as_of) in ("poor", "near_poor")
    }
    rows = []
    for dimension in ("commune", "ethnicity", "sex"):
        attribute = "commune_code" if dimension == "commune" else dimension

        def group(person_id: str, attribute: str = attribute) -> str:
            person = known.get(person_id)
            return str(getattr(person, attribute)) if person is not None else "unknown"

        receiving = {p for s in benefits.values() for p in s}
        groups = sorted({group(p) for p in known} | {group(p) for p in receiving})
        for benefit, received in benefits.items():
            for g in groups:
                in_group = {p for p in eligible if group(p) == g}
                rows.append(
                    DistributionRow(
                        dimension=dimension,
                        group=g,
                        benefit=benefit,
                        eligible_share=ratio(len(in_group), len(eligible)),
                        benefit_share=ratio(
                            sum(1 for p in received if group(p) == g), len(received)
                        ),
                        coverage=ratio(len(in_group & received), len(in_group)),
                    )
                )
    return rows


async def build_fairness(
    session: AsyncSession,
    year: int,
    commune_code: str | None,
    communes: Scope,
    as_of: date,
    policy: AuditPolicy,
) -> Fairness:
    scope = scope_of(commune_code, communes)
    holders = await load_holders(session, scope)
    assessments = [
        a for a in await load(session, ViewAssessment, scope) if in_year(a.assessed_on, year, as_of)
    ]
    persons = await load(session, ViewPerson, scope)
    book = await load_class_book(session, scope)
    benefits = await _beneficiaries(session, scope, holders, persons, year, as_of)
    seen = sorted(
        {h.commune_code for h in holders.values() if h.commune_code}
        | {a.commune_code for a in assessments}
    )
    return Fairness(
        year=year,
        commune_code=commune_code,
        as_of=as_of,
        card_service_standard_days=policy.card_service_standard_days,
        total=fairness_row(None, holders.values(), assessments, as_of, policy),
        communes=[fairness_row(c, holders.values(), assessments, as_of, policy) for c in seen],
        distribution=distribution(persons, book, benefits, as_of),
    )


# --- findings --------------------------------------------------------------------------------


async def find_findings(
    session: AsyncSession,
    kind: str | None,
    commune_code: str | None,
    communes: Scope,
    status: str | None,
    after: str | None,
    limit: int,
) -> FindingPage:
    query = select(ViewFinding).order_by(ViewFinding.key).limit(limit + 1)
    if kind is not None:
        query = query.where(ViewFinding.kind == kind)
    scope = scope_of(commune_code, communes)
    if scope is not None:
        query = query.where(ViewFinding.commune_code.in_(sorted(scope)))
    if status is not None:
        query = query.where(ViewFinding.status == status)
    if after is not None:
        query = query.where(ViewFinding.key > after)
    rows = list((await session.execute(query)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return FindingPage(
        items=[finding_out(r) for r in rows], next_after=rows[-1].key if more and rows else None
    )


async def open_findings_by(session: AsyncSession, scope: Scope, column: Any) -> dict[str, int]:
    query = select(column, func.count()).where(ViewFinding.status == "open").group_by(column)
    if scope is not None:
        query = query.where(ViewFinding.commune_code.in_(sorted(scope)))
    return {str(k): int(n) for k, n in (await session.execute(query)).all()}


# --- overview and communes -------------------------------------------------------------------


async def build_commune_rows(
    session: AsyncSession, year: int, communes: Scope, as_of: date, policy: AuditPolicy
) -> list[CommuneRow]:
    book = await load_class_book(session, communes)
    holders = await load_holders(session, communes)
    persons = group_by(await load(session, ViewPerson, communes), lambda p: p.commune_code)
    checks = group_by(
        await review_checks(session, communes, year, policy), lambda c: c.commune_code
    )
    findings = await open_findings_by(session, communes, ViewFinding.commune_code)
    seen = {h.commune_code for h in book.households.values()} | set(persons) | set(checks)
    seen |= {h.commune_code for h in holders.values() if h.commune_code}
    rows = []
    for commune in sorted(seen):
        poor, near = book.rates(commune, as_of)
        fair = fairness_row(commune, holders.values(), [], as_of, policy)
        mine = [h for h in holders.values() if h.commune_code == commune]
        own_checks = checks.get(commune, [])
        rows.append(
            CommuneRow(
                commune_code=commune,
                households=poor.denominator,
                poor_rate=poor,
                near_poor_rate=near,
                persons=len(persons.get(commune, [])),
                entitled_persons=fair.exclusion.denominator,
                active_cards=sum(len(active_cards(h, as_of)) for h in mine),
                exclusion=fair.exclusion,
                recognitions_with_valid_meeting=ratio(
                    sum(c.valid_meeting for c in own_checks), len(own_checks)
                ),
                open_findings=findings.get(commune, 0),
            )
        )
    return rows


async def build_overview(
    session: AsyncSession,
    year: int,
    commune_code: str | None,
    communes: Scope,
    as_of: date,
    policy: AuditPolicy,
) -> Overview:
    scope = scope_of(commune_code, communes)
    args = (session, year, commune_code, communes, as_of, policy)
    by_kind = await open_findings_by(session, scope, ViewFinding.kind)
    return Overview(
        year=year,
        commune_code=commune_code,
        as_of=as_of,
        democracy=(await build_democracy(*args)).total,
        fairness=(await build_fairness(*args)).total,
        timeliness=(await build_timeliness(*args)).total,
        targets=(await build_targets(*args)).total,
        open_findings=sum(by_kind.values()),
        open_findings_by_kind=dict(sorted(by_kind.items())),
        communes=await build_commune_rows(session, year, scope, as_of, policy),
    )
