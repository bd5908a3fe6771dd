"""The write path of housing support: applications and their eligibility decision, the
commune's approval list and its approval. Each command opens the transaction, authorises,
applies the domain rules, changes rows and appends its events to the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import (
    EligibilityFacts,
    HouseCondition,
    ListPolicy,
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
    KnownHousehold,
    Loan,
    platform,
)
from services.housing.records import (
    approved_in_year,
    get_approval_list,
    get_known_household,
    has_open_application,
    listed_class,
    own_support_year,
)
from services.housing.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApprovalIn,
    ApprovalListOut,
    ListIn,
)
from services.housing.settings import SERVICE
from services.housing.views import application_view, approval_list_view
from shared.auth import Principal, authorize_write
from shared.events import EventPayload
from shared.outbox import append_event, append_events
from shared.problems import Conflict, RuleViolation


def _policy_on(on: date, field: str) -> ProgrammePolicy:
    try:
        return policy_for(on)
    except UnknownPolicy as exc:
        raise RuleViolation(str(exc), field=field) from exc


# --- applications ----------------------------------------------------------------------------


async def apply_for_support(
    session: AsyncSession, principal: Principal, body: ApplicationIn
) -> ApplicationOut:
    """Receive a household's application and decide eligibility; a refusal names each rule.
    404 for a household unknown here, 409 while it has an open application."""
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
        facts = await _eligibility_facts(session, household, body)
        failures = assess_eligibility(policy, facts)
        application = Application(
            id=str(uuid.uuid4()),
            household_id=household.id,
            commune_code=household.commune_code,
            programme_code=policy.code,
            priority_group=int(priority_group(PriorityFlags(**body.priority.model_dump()))),
            priority_flags=body.priority.model_dump(),
            listed_class=facts.listed_class,
            status="refused" if failures else "eligible",
            failed_rules=[str(f.rule) for f in failures],
            reasons=[f.reason for f in failures],
            **body.model_dump(exclude={"household_id", "priority"}),
        )
        session.add(application)
        events = _decision_events(application)
        await append_events(session, platform, [(e, application.id) for e in events])
    return await application_view(session, application)


async def _eligibility_facts(
    session: AsyncSession, household: KnownHousehold, body: ApplicationIn
) -> EligibilityFacts:
    """What the rules judge: the service's own records plus what the officer verified."""
    own_year = await own_support_year(session, household.id)
    supported = [y for y in (body.prior_support_year, own_year) if y]
    return EligibilityFacts(
        applied_on=body.applied_on,
        listed_class=await listed_class(session, household.id, body.applied_on),
        independent_since_year=household.independent_since_year,
        house_condition=HouseCondition(body.house_condition),
        floor_area_m2=body.floor_area_m2,
        residents=body.residents,
        prior_support_year=max(supported) if supported else None,
        house_destroyed_by_disaster=body.house_destroyed_by_disaster,
    )


def _decision_events(application: Application) -> list[EventPayload]:
    """housing_applied, and housing_refused naming each failed rule when it was refused."""
    events: list[EventPayload] = [
        HousingApplied(
            application_id=application.id,
            household_id=application.household_id,
            commune_code=application.commune_code,
            applied_on=application.applied_on,
            programme_code=application.programme_code,
            house_condition=application.house_condition,
            priority_group=application.priority_group,
            amount_requested=application.amount_requested,
            eligible=application.status == "eligible",
        )
    ]
    if application.status == "refused":
        events.append(
            HousingRefused(
                application_id=application.id,
                household_id=application.household_id,
                commune_code=application.commune_code,
                applied_on=application.applied_on,
                refused_on=application.applied_on,
                programme_code=application.programme_code,
                failed_rules=application.failed_rules,
                reasons=application.reasons,
            )
        )
    return events


# --- the commune's approval list -------------------------------------------------------------


async def post_approval_list(
    session: AsyncSession,
    principal: Principal,
    commune_code: str,
    body: ListIn,
    rules: ListPolicy,
) -> ApprovalListOut:
    """Rank the commune's eligible applications by priority group and post the list publicly.
    409 while another list of the commune is posted, 422 when none is eligible."""
    authorize_write(principal, SERVICE, commune_code)
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


_Place = tuple[ApprovalListEntry, Application, RankedApplication]


async def approve_list(
    session: AsyncSession, principal: Principal, list_id: str, body: ApprovalIn, rules: ListPolicy
) -> ApprovalListOut:
    """Approve a posted list after its posting period: the best-ranked within the quota
    (each approval opens a loan); the rest stay eligible for the next list. 409 for a list
    already approved, 422 during the posting."""
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
        places = await _places(session, list_id)
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


async def _places(session: AsyncSession, list_id: str) -> dict[str, _Place]:
    """Each application on the list (by id) with its entry and its place in the ranking."""
    rows = (
        await session.execute(
            select(ApprovalListEntry, Application)
            .join(Application, Application.id == ApprovalListEntry.application_id)
            .where(ApprovalListEntry.list_id == list_id)
        )
    ).all()
    return {
        a.id: (e, a, RankedApplication(a.id, e.priority_group, a.applied_on, e.rank))
        for e, a in rows
    }


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
