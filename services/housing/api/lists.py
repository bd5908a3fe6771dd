"""The commune's approval list: ranked by priority group, posted publicly for the configured
working days, then approved within the commune's yearly quota (each approval opens a loan)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import (
    ProgrammePolicy,
    RankedApplication,
    UnknownPolicy,
    approval_blocker,
    policy_by_code,
    policy_for,
    posting_period_end,
    rank_applications,
    split_by_quota,
)
from services.housing.events import HousingApproved, HousingListPosted, ListEntry
from services.housing.models import (
    Application,
    ApprovalList,
    ApprovalListEntry,
    Loan,
    platform,
)
from services.housing.operations import (
    approval_list_view,
    approved_in_year,
    get_approval_list,
    list_policy,
)
from services.housing.schemas import ApprovalIn, ApprovalListOut, ListIn
from shared.auth import CurrentPrincipal, authorize_read, authorize_write
from shared.events import EventPayload
from shared.outbox import append_event, append_events
from shared.problems import Conflict, RuleViolation
from shared.service import Runtime, SessionDep

SERVICE = "housing"
router = APIRouter(tags=["approval lists"])


async def _candidates(
    session: AsyncSession, commune_code: str, policy: ProgrammePolicy, posted_on: date
) -> Sequence[Application]:
    """Eligible applications of the programme received by the posting day, not yet listed."""
    candidates = (
        await session.execute(
            select(Application).where(
                Application.commune_code == commune_code,
                Application.status == "eligible",
                Application.programme_code == policy.code,
                Application.applied_on <= posted_on,
            )
        )
    ).scalars()
    found = list(candidates)
    if not found:
        raise RuleViolation(
            f"commune {commune_code} has no eligible {policy.code} application "
            f"received by {posted_on.isoformat()}",
            field="body.posted_on",
        )
    return found


@router.post(
    "/communes/{commune_code}/approval-lists",
    status_code=status.HTTP_201_CREATED,
    response_model=ApprovalListOut,
)
async def post_approval_list(
    commune_code: str,
    body: ListIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
) -> ApprovalListOut:
    """Rank the commune's eligible applications by priority group and post the list publicly."""
    authorize_write(principal, SERVICE, commune_code)
    rules = list_policy(runtime)
    try:
        policy = policy_for(body.posted_on)
    except UnknownPolicy as exc:
        raise RuleViolation(str(exc), field="body.posted_on") from exc
    year = body.year or body.posted_on.year
    async with session.begin():
        already = await session.execute(
            select(ApprovalList.id).where(
                ApprovalList.commune_code == commune_code, ApprovalList.status == "posted"
            )
        )
        if (open_list := already.scalar_one_or_none()) is not None:
            raise Conflict(f"list {open_list} of commune {commune_code} is posted, not approved")
        by_id = {a.id: a for a in await _candidates(session, commune_code, policy, body.posted_on)}
        ranked = rank_applications(
            [RankedApplication(a.id, a.priority_group, a.applied_on) for a in by_id.values()]
        )
        used = await approved_in_year(session, commune_code, year)
        approval_list = ApprovalList(
            id=str(uuid.uuid4()),
            commune_code=commune_code,
            year=year,
            programme_code=policy.code,
            posted_on=body.posted_on,
            posting_ends_on=posting_period_end(
                body.posted_on, rules.posting_working_days, rules.holidays
            ),
            required_working_days=rules.posting_working_days,
            quota=max(0, rules.quota_for(commune_code) - used),
            status="posted",
        )
        session.add(approval_list)
        await session.flush()
        _place_on_list(session, approval_list, ranked, by_id)
        posted = _posted_event(approval_list, ranked, by_id)
        await append_event(session, platform, posted, approval_list.id)
    return await approval_list_view(session, approval_list)


def _place_on_list(
    session: AsyncSession,
    approval_list: ApprovalList,
    ranked: Sequence[RankedApplication],
    by_id: dict[str, Application],
) -> None:
    for place in ranked:
        session.add(
            ApprovalListEntry(
                list_id=approval_list.id,
                application_id=place.application_id,
                rank=place.rank,
                priority_group=place.priority_group,
            )
        )
        by_id[place.application_id].status = "listed"
        by_id[place.application_id].list_id = approval_list.id


def _posted_event(
    approval_list: ApprovalList,
    ranked: Sequence[RankedApplication],
    by_id: dict[str, Application],
) -> HousingListPosted:
    return HousingListPosted(
        list_id=approval_list.id,
        commune_code=approval_list.commune_code,
        year=approval_list.year,
        programme_code=approval_list.programme_code,
        posted_on=approval_list.posted_on,
        posting_ends_on=approval_list.posting_ends_on,
        required_working_days=approval_list.required_working_days,
        quota=approval_list.quota,
        entries=[
            ListEntry(
                application_id=p.application_id,
                household_id=by_id[p.application_id].household_id,
                rank=p.rank,
                priority_group=p.priority_group,
            )
            for p in ranked
        ],
    )


@router.get("/approval-lists/{list_id}", response_model=ApprovalListOut)
async def read_approval_list(
    list_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ApprovalListOut:
    """A posted or approved list with each application's rank and outcome."""
    approval_list = await get_approval_list(session, list_id)
    authorize_read(principal, SERVICE, approval_list.commune_code)
    return await approval_list_view(session, approval_list)


@router.post("/approval-lists/{list_id}/approval", response_model=ApprovalListOut)
async def approve_list(
    list_id: str,
    body: ApprovalIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
) -> ApprovalListOut:
    """Approve a posted list after its posting period: the best-ranked within the quota."""
    rules = list_policy(runtime)
    async with session.begin():
        approval_list = await get_approval_list(session, list_id)
        authorize_write(principal, SERVICE, approval_list.commune_code)
        if approval_list.status != "posted":
            raise Conflict(f"list {list_id} was already approved on {approval_list.approved_on}")
        blocker = approval_blocker(approval_list.posting_ends_on, body.approved_on)
        if blocker:
            raise RuleViolation(blocker, field="body.approved_on")
        remaining = rules.quota_for(approval_list.commune_code) - await approved_in_year(
            session, approval_list.commune_code, approval_list.year
        )
        rows = (
            await session.execute(
                select(ApprovalListEntry, Application)
                .join(Application, Application.id == ApprovalListEntry.application_id)
                .where(ApprovalListEntry.list_id == list_id)
            )
        ).all()
        places = {
            a.id: (e, a, RankedApplication(a.id, e.priority_group, a.applied_on, e.rank))
            for e, a in rows
        }
        approved, beyond = split_by_quota([p[2] for p in places.values()], remaining)
        policy = policy_by_code(approval_list.programme_code)
        events: list[tuple[EventPayload, str]] = []
        for place in approved:
            entry, application, _ = places[place.application_id]
            entry.outcome = "approved"
            approval = _approve(
                session, application, approval_list, policy, place, body.approved_on
            )
            events.append((approval, application.id))
        for place in beyond:
            entry, application, _ = places[place.application_id]
            entry.outcome = "beyond_quota"
            # Still eligible: the household waits for the next list.
            application.status, application.list_id = "eligible", None
        approval_list.status, approval_list.approved_on = "approved", body.approved_on
        await append_events(session, platform, events)
    return await approval_list_view(session, approval_list)


def _approve(
    session: AsyncSession,
    application: Application,
    approval_list: ApprovalList,
    policy: ProgrammePolicy,
    place: RankedApplication,
    approved_on: date,
) -> HousingApproved:
    """Approve one application and open its loan on the programme's terms."""
    application.status, application.approved_on = "approved", approved_on
    terms = policy.terms(application.amount_requested)
    loan = Loan(
        id=str(uuid.uuid4()),
        application_id=application.id,
        household_id=application.household_id,
        commune_code=application.commune_code,
        programme_code=policy.code,
        principal=terms.principal,
        annual_rate_bp=terms.annual_rate_bp,
        overdue_rate_percent=terms.overdue_rate_percent,
        term_years=terms.term_years,
        grace_years=terms.grace_years,
        min_principal_percent_per_year=terms.min_principal_percent_per_year,
        approved_on=approved_on,
        status="approved",
    )
    session.add(loan)
    return HousingApproved(
        application_id=application.id,
        household_id=application.household_id,
        commune_code=application.commune_code,
        list_id=approval_list.id,
        loan_id=loan.id,
        year=approval_list.year,
        rank=place.rank,
        priority_group=place.priority_group,
        programme_code=policy.code,
        applied_on=application.applied_on,
        posted_on=approval_list.posted_on,
        posting_ends_on=approval_list.posting_ends_on,
        approved_on=approved_on,
        principal=terms.principal,
    )
