"""Drill-down to households: a commune's households, and what the audit knows of one."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors import Holder, holders
from services.audit.monitoring.domain.standards import AuditPolicy, application_due, complaint_due
from services.audit.monitoring.models import (
    ViewApplication,
    ViewAssessment,
    ViewClassChange,
    ViewComplaint,
    ViewFinding,
    ViewHousehold,
    ViewHousing,
    ViewPerson,
)
from services.audit.monitoring.queries.read_models import active_cards, entitled_on
from services.audit.monitoring.schemas import (
    AssessmentCheck,
    CaseRow,
    ClassChange,
    Finding,
    HouseholdPage,
    HouseholdRow,
    HouseholdSummary,
    MemberRow,
)


def finding_out(row: ViewFinding) -> Finding:
    return Finding(
        finding_id=row.finding_id,
        key=row.key,
        kind=row.kind,
        subject_id=row.subject_id,
        commune_code=row.commune_code,
        status=row.status,
        summary=row.summary,
        evidence=list(row.evidence),
        raised_on=row.raised_on,
        cleared_on=row.cleared_on,
        cleared_reason=row.cleared_reason,
    )


def _latest_class(changes: list[ViewClassChange]) -> str | None:
    ordered = sorted(changes, key=lambda c: (c.effective_date, c.leaf_index))
    return ordered[-1].to_class if ordered else None


async def build_household_page(
    session: AsyncSession, commune_code: str, after: str | None, limit: int
) -> HouseholdPage:
    query = (
        select(ViewHousehold)
        .where(ViewHousehold.commune_code == commune_code)
        .order_by(ViewHousehold.household_id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(ViewHousehold.household_id > after)
    rows = list((await session.execute(query)).scalars())
    more, rows = len(rows) > limit, rows[:limit]
    ids = [h.household_id for h in rows]
    changes = list(
        (
            await session.execute(
                select(ViewClassChange).where(ViewClassChange.household_id.in_(ids))
            )
        ).scalars()
    )
    members = Counter(
        (
            await session.execute(
                select(ViewPerson.household_id).where(ViewPerson.household_id.in_(ids))
            )
        ).scalars()
    )
    latest: dict[str, ViewAssessment] = {}
    for a in (
        await session.execute(select(ViewAssessment).where(ViewAssessment.household_id.in_(ids)))
    ).scalars():
        held = latest.get(a.household_id)
        if held is None or (a.assessed_on, a.leaf_index) > (held.assessed_on, held.leaf_index):
            latest[a.household_id] = a
    open_findings = await _open_findings_about(session, ids)
    items = [
        HouseholdRow(
            household_id=h.household_id,
            commune_code=h.commune_code,
            village=h.village,
            area=h.area,
            current_class=_latest_class([c for c in changes if c.household_id == h.household_id]),
            members=members.get(h.household_id, 0),
            misclassified=bool(latest.get(h.household_id) and latest[h.household_id].misclassified),
            open_findings=len(open_findings.get(h.household_id, [])),
        )
        for h in rows
    ]
    return HouseholdPage(items=items, next_after=rows[-1].household_id if more and rows else None)


async def _open_findings_about(
    session: AsyncSession, household_ids: list[str]
) -> dict[str, list[ViewFinding]]:
    """Open findings whose subject is the household, one of its persons or their cards."""
    rows = await session.execute(
        select(ViewPerson.person_id, ViewPerson.household_id).where(
            ViewPerson.household_id.in_(household_ids)
        )
    )
    persons: dict[str, str] = {person_id: household_id for person_id, household_id in rows}
    found: dict[str, list[ViewFinding]] = {}
    for f in await _findings_of(session, set(household_ids) | set(persons), "open"):
        owner = f.subject_id if f.subject_id in household_ids else persons.get(f.subject_id)
        if owner is not None:
            found.setdefault(owner, []).append(f)
    return found


async def _findings_of(
    session: AsyncSession, subjects: set[str], status: str | None = None
) -> list[ViewFinding]:
    query = select(ViewFinding).where(ViewFinding.subject_id.in_(sorted(subjects)))
    if status is not None:
        query = query.where(ViewFinding.status == status)
    return list((await session.execute(query.order_by(ViewFinding.key))).scalars())


def _member(person: ViewPerson, holder: Holder | None, as_of: date) -> MemberRow:
    return MemberRow(
        person_id=person.person_id,
        sex=person.sex,
        ethnicity=person.ethnicity,
        ethnic_minority=person.ethnic_minority,
        birth_year=person.date_of_birth.year,
        entitled=holder is not None and entitled_on(holder, as_of),
        active_cards=sorted(c.card_id for c in active_cards(holder, as_of)) if holder else [],
    )


async def _of_household(
    session: AsyncSession, model: Any, household_id: str, *order_by: Any
) -> list[Any]:
    """The rows of ``model`` about one household (in the database's ``order_by``, if any)."""
    query = select(model).where(model.household_id == household_id).order_by(*order_by)
    return list((await session.execute(query)).scalars())


def _complaint_case(c: ViewComplaint, policy: AuditPolicy) -> CaseRow:
    due = complaint_due(c.filed_on, policy)
    return CaseRow(
        kind="complaint",
        case_id=c.complaint_id,
        started_on=c.filed_on,
        due_on=due,
        finished_on=c.resolved_on,
        outcome=c.outcome,
        on_time=None if c.resolved_on is None else c.resolved_on <= due,
    )


def _application_case(a: ViewApplication, policy: AuditPolicy) -> CaseRow:
    due = application_due(a.kind or "", a.received_on, policy)
    return CaseRow(
        kind="application",
        case_id=a.application_id,
        started_on=a.received_on,
        due_on=due,
        finished_on=a.decided_on,
        outcome=a.outcome,
        on_time=None if a.decided_on is None else a.decided_on <= due,
    )


def _housing_case(h: ViewHousing) -> CaseRow:
    outcome = (
        "disbursed"
        if h.disbursed_on
        else "refused"
        if h.refused_on
        else "approved"
        if h.approved_on
        else None
    )
    return CaseRow(
        kind="housing",
        case_id=h.application_id,
        started_on=h.applied_on,
        due_on=None,
        finished_on=h.disbursed_on or h.refused_on,
        outcome=outcome,
        on_time=None,
    )


async def _cases(session: AsyncSession, household_id: str, policy: AuditPolicy) -> list[CaseRow]:
    cases = [
        *(
            _complaint_case(c, policy)
            for c in await _of_household(session, ViewComplaint, household_id)
        ),
        *(
            _application_case(a, policy)
            for a in await _of_household(session, ViewApplication, household_id)
        ),
        *(_housing_case(h) for h in await _of_household(session, ViewHousing, household_id)),
    ]
    return sorted(cases, key=lambda c: (c.started_on, c.kind, c.case_id))


def _class_change(c: ViewClassChange) -> ClassChange:
    return ClassChange(
        effective_date=c.effective_date,
        from_class=c.from_class,
        to_class=c.to_class,
        basis=c.basis,
        event_id=c.event_id,
    )


def _assessment_check(a: ViewAssessment) -> AssessmentCheck:
    return AssessmentCheck(
        assessment_id=a.assessment_id,
        assessed_on=a.assessed_on,
        standard_code=a.standard_code,
        area=a.area,
        income_per_person_month=a.income_per_person_month,
        deprivations=len(a.deprived_indicators),
        recorded_class=a.recorded_class,
        expected_class=a.expected_class,
        misclassified=a.misclassified,
        event_id=a.event_id,
    )


async def build_household_summary(
    session: AsyncSession, household_id: str, as_of: date, policy: AuditPolicy
) -> HouseholdSummary | None:
    household = await session.get(ViewHousehold, household_id)
    if household is None:
        return None
    changes = sorted(
        await _of_household(session, ViewClassChange, household_id),
        key=lambda c: (c.effective_date, c.leaf_index),
    )
    persons = await _of_household(session, ViewPerson, household_id, ViewPerson.person_id)
    cover = await holders(session, {p.person_id for p in persons})
    assessments = sorted(
        await _of_household(session, ViewAssessment, household_id),
        key=lambda a: (a.assessed_on, a.leaf_index),
    )
    cards = {c.card_id for h in cover.values() for c in h.cards}
    subjects = {household_id, *(p.person_id for p in persons), *cards}
    return HouseholdSummary(
        household_id=household_id,
        commune_code=household.commune_code,
        village=household.village,
        area=household.area,
        registered_on=household.registered_on,
        current_class=_latest_class(changes),
        as_of=as_of,
        class_history=[_class_change(c) for c in changes],
        members=[_member(p, cover.get(p.person_id), as_of) for p in persons],
        assessments=[_assessment_check(a) for a in assessments],
        cases=await _cases(session, household_id, policy),
        findings=[finding_out(f) for f in await _findings_of(session, subjects)],
    )
