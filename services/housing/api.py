"""Housing API: applications with eligibility, the commune's ranked list (posted, then
approved within the yearly quota), what the service knows of a household, the policies."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import (
    POLICIES,
    EligibilityFacts,
    HouseCondition,
    PriorityFlags,
    ProgrammePolicy,
    RankedApplication,
    UnknownPolicy,
    approval_blocker,
    assess_eligibility,
    policy_by_code,
    policy_for,
    posting_period_end,
    priority_group,
    rank_applications,
    split_by_quota,
)
from services.housing.events import (
    HousingApplied,
    HousingApproved,
    HousingListPosted,
    HousingRefused,
    ListEntry,
)
from services.housing.models import (
    Application,
    ApprovalList,
    ApprovalListEntry,
    Loan,
    platform,
)
from services.housing.operations import (
    application_view,
    approval_list_view,
    approved_in_year,
    get_application,
    get_approval_list,
    get_known_household,
    has_open_application,
    list_policy,
    listed_class,
    own_support_year,
)
from services.housing.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApprovalIn,
    ApprovalListOut,
    HouseholdFactsOut,
    ListIn,
)
from shared.auth import CurrentPrincipal, authorize_read, authorize_write, readable_communes
from shared.events import EventPayload
from shared.outbox import append_event, append_events
from shared.problems import Conflict, RuleViolation
from shared.service import Runtime, SessionDep

SERVICE = "housing"
router = APIRouter(tags=["housing"])


def _policy_on(on: date, field: str) -> ProgrammePolicy:
    try:
        return policy_for(on)
    except UnknownPolicy as exc:
        raise RuleViolation(str(exc), field=field) from exc


@router.post("/applications", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut)
async def apply_for_support(
    body: ApplicationIn, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationOut:
    """Receive a household's application and decide eligibility; a refusal names each rule."""
    async with session.begin():
        household = await get_known_household(session, body.household_id)
        authorize_write(principal, SERVICE, household.commune_code)
        policy = _policy_on(body.applied_on, "body.applied_on")
        if body.amount_requested > policy.max_loan:
            raise RuleViolation(
                f"{policy.code} lends at most {policy.max_loan} đồng",
                field="body.amount_requested",
            )
        if await has_open_application(session, household.id):
            raise Conflict(f"household {household.id} already has an open housing application")
        listed = await listed_class(session, household.id, body.applied_on)
        own_year = await own_support_year(session, household.id)
        supported = [y for y in (body.prior_support_year, own_year) if y]
        failures = assess_eligibility(
            policy,
            EligibilityFacts(
                applied_on=body.applied_on,
                listed_class=listed,
                independent_since_year=household.independent_since_year,
                house_condition=HouseCondition(body.house_condition),
                floor_area_m2=body.floor_area_m2,
                residents=body.residents,
                prior_support_year=max(supported) if supported else None,
                house_destroyed_by_disaster=body.house_destroyed_by_disaster,
            ),
        )
        group = priority_group(PriorityFlags(**body.priority.model_dump()))
        application = Application(
            id=str(uuid.uuid4()),
            household_id=household.id,
            commune_code=household.commune_code,
            applied_on=body.applied_on,
            programme_code=policy.code,
            house_condition=body.house_condition,
            floor_area_m2=body.floor_area_m2,
            residents=body.residents,
            prior_support_year=body.prior_support_year,
            prior_support_programme=body.prior_support_programme,
            house_destroyed_by_disaster=body.house_destroyed_by_disaster,
            priority_flags=body.priority.model_dump(),
            priority_group=int(group),
            amount_requested=body.amount_requested,
            listed_class=listed,
            status="refused" if failures else "eligible",
            failed_rules=[str(f.rule) for f in failures],
            reasons=[f.reason for f in failures],
        )
        session.add(application)
        events: list[EventPayload] = [
            HousingApplied(
                application_id=application.id,
                household_id=household.id,
                commune_code=household.commune_code,
                applied_on=body.applied_on,
                programme_code=policy.code,
                house_condition=body.house_condition,
                priority_group=int(group),
                amount_requested=body.amount_requested,
                eligible=not failures,
            )
        ]
        if failures:
            events.append(
                HousingRefused(
                    application_id=application.id,
                    household_id=household.id,
                    commune_code=household.commune_code,
                    applied_on=body.applied_on,
                    refused_on=body.applied_on,
                    programme_code=policy.code,
                    failed_rules=application.failed_rules,
                    reasons=application.reasons,
                )
            )
        await append_events(session, platform, [(e, application.id) for e in events])
    return await application_view(session, application)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
async def read_application(
    application_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationOut:
    """One application with its decision, list and loan."""
    application = await get_application(session, application_id)
    authorize_read(principal, SERVICE, application.commune_code)
    return await application_view(session, application)


@router.get("/applications", response_model=list[ApplicationOut])
async def list_applications(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern=r"^(eligible|refused|listed|approved)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApplicationOut]:
    """Applications the caller may read, oldest first."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Application).order_by(Application.applied_on, Application.id).limit(limit)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Application.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Application.commune_code == commune_code)
    if status_:
        query = query.where(Application.status == status_)
    rows = (await session.execute(query)).scalars().all()
    return [await application_view(session, a) for a in rows]


@router.get("/households/{household_id}", response_model=HouseholdFactsOut)
async def household_facts(
    household_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    on: Annotated[date | None, Query(description="list membership on this date; today")] = None,
) -> HouseholdFactsOut:
    """What households events told this service about a household, and its listed class."""
    household = await get_known_household(session, household_id)
    authorize_read(principal, SERVICE, household.commune_code)
    day = on or date.today()
    return HouseholdFactsOut(
        household_id=household.id,
        commune_code=household.commune_code,
        independent_since_year=household.independent_since_year,
        current_class=household.current_class,
        listed_class_on=day,
        listed_class=await listed_class(session, household.id, day),
    )


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
    policy = _policy_on(body.posted_on, "body.posted_on")
    year = body.year or body.posted_on.year
    async with session.begin():
        already = await session.execute(
            select(ApprovalList.id).where(
                ApprovalList.commune_code == commune_code, ApprovalList.status == "posted"
            )
        )
        if (open_list := already.scalar_one_or_none()) is not None:
            raise Conflict(f"list {open_list} of commune {commune_code} is posted, not approved")
        candidates = (
            (
                await session.execute(
                    select(Application).where(
                        Application.commune_code == commune_code,
                        Application.status == "eligible",
                        Application.programme_code == policy.code,
                        Application.applied_on <= body.posted_on,
                    )
                )
            )
            .scalars()
            .all()
        )
        if not candidates:
            raise RuleViolation(
                f"commune {commune_code} has no eligible {policy.code} application "
                f"received by {body.posted_on.isoformat()}",
                field="body.posted_on",
            )
        ranked = rank_applications(
            [RankedApplication(a.id, a.priority_group, a.applied_on) for a in candidates]
        )
        by_id = {a.id: a for a in candidates}
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
        await append_event(
            session,
            platform,
            HousingListPosted(
                list_id=approval_list.id,
                commune_code=commune_code,
                year=year,
                programme_code=policy.code,
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
            ),
            approval_list.id,
        )
    return await approval_list_view(session, approval_list)


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
        entries = {
            e.application_id: e
            for e in (
                await session.execute(
                    select(ApprovalListEntry).where(ApprovalListEntry.list_id == list_id)
                )
            ).scalars()
        }
        approved, beyond = split_by_quota(
            [
                RankedApplication(e.application_id, e.priority_group, body.approved_on, e.rank)
                for e in entries.values()
            ],
            remaining,
        )
        policy = policy_by_code(approval_list.programme_code)
        events: list[tuple[EventPayload, str]] = []
        for place in approved:
            application = await get_application(session, place.application_id)
            entries[place.application_id].outcome = "approved"
            approval = _approve(
                session, application, approval_list, policy, place, body.approved_on
            )
            events.append((approval, application.id))
        for place in beyond:
            application = await get_application(session, place.application_id)
            entries[place.application_id].outcome = "beyond_quota"
            # Still eligible: the household waits for next year's list.
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


@router.get("/programme-policies")
async def list_policies(principal: CurrentPrincipal) -> list[dict[str, object]]:
    """The housing-support programmes with their validity, eligible classes and loan terms."""
    return [
        {**asdict(p), "eligible_classes": sorted(p.eligible_classes), "notes": list(p.notes)}
        for p in POLICIES
    ]
