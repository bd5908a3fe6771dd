"""Reads and writes shared by the housing API modules; each works inside the caller's session."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.domain import (
    ClassEntry,
    ListPolicy,
    LoanTerms,
    listed_class_on,
)
from services.housing.models import (
    Application,
    ApprovalList,
    ApprovalListEntry,
    ClassChange,
    KnownHousehold,
    Loan,
    RecognisedReview,
)
from services.housing.schemas import ApplicationOut, ApprovalListOut, ListEntryOut
from shared.problems import NotFound
from shared.service import ServiceRuntime

#: Applications still waiting for a decision: a second one is refused with 409. An approved
#: one counts as prior support instead (repeat support after 8 years or a disaster).
OPEN_STATUSES = ("eligible", "listed")


def list_policy(runtime: ServiceRuntime) -> ListPolicy:
    """The locality's list policy (built from the settings at start-up)."""
    policy = runtime.extras.get("list_policy")
    return policy if isinstance(policy, ListPolicy) else ListPolicy()


async def get_known_household(session: AsyncSession, household_id: str) -> KnownHousehold:
    household = await session.get(KnownHousehold, household_id)
    if household is None:
        raise NotFound(
            f"household {household_id} is unknown to the housing service "
            "(no household_registered event received for it)"
        )
    return household


async def get_application(session: AsyncSession, application_id: str) -> Application:
    application = await session.get(Application, application_id)
    if application is None:
        raise NotFound(f"application {application_id} does not exist")
    return application


async def get_loan(session: AsyncSession, loan_id: str, *, for_update: bool = False) -> Loan:
    """The loan; ``for_update`` locks its row so concurrent repayments apply one at a time."""
    loan = await session.get(Loan, loan_id, with_for_update=for_update)
    if loan is None:
        raise NotFound(f"loan {loan_id} does not exist")
    return loan


async def get_approval_list(session: AsyncSession, list_id: str) -> ApprovalList:
    approval_list = await session.get(ApprovalList, list_id)
    if approval_list is None:
        raise NotFound(f"approval list {list_id} does not exist")
    return approval_list


async def listed_class(session: AsyncSession, household_id: str, on: date) -> str | None:
    """The household's class on the commune list on ``on`` (see domain.listed_class_on)."""
    changes = (
        (await session.execute(select(ClassChange).where(ClassChange.household_id == household_id)))
        .scalars()
        .all()
    )
    review_ids = {c.review_id for c in changes if c.review_id}
    recognitions: dict[str, date] = {}
    if review_ids:
        rows = await session.execute(
            select(RecognisedReview.review_id, RecognisedReview.recognised_on).where(
                RecognisedReview.review_id.in_(review_ids)
            )
        )
        recognitions = {review_id: on for review_id, on in rows.all()}
    entries = [ClassEntry(c.seq, c.to_class, c.effective_date, c.review_id) for c in changes]
    return listed_class_on(entries, recognitions, on)


async def own_support_year(session: AsyncSession, household_id: str) -> int | None:
    """Year of the latest approval this service gave the household, if any."""
    latest = (
        await session.execute(
            select(func.max(Application.approved_on)).where(
                Application.household_id == household_id, Application.status == "approved"
            )
        )
    ).scalar_one_or_none()
    return latest.year if latest else None


async def has_open_application(session: AsyncSession, household_id: str) -> bool:
    return (
        await session.execute(
            select(Application.id).where(
                Application.household_id == household_id, Application.status.in_(OPEN_STATUSES)
            )
        )
    ).first() is not None


async def approved_in_year(session: AsyncSession, commune_code: str, year: int) -> int:
    """Approvals already counted against the commune's quota for ``year``."""
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(ApprovalListEntry)
                .join(ApprovalList, ApprovalList.id == ApprovalListEntry.list_id)
                .where(
                    ApprovalList.commune_code == commune_code,
                    ApprovalList.year == year,
                    ApprovalListEntry.outcome == "approved",
                )
            )
        ).scalar_one()
    )


def loan_terms(loan: Loan) -> LoanTerms:
    return LoanTerms(
        principal=loan.principal,
        annual_rate_bp=loan.annual_rate_bp,
        overdue_rate_percent=loan.overdue_rate_percent,
        term_years=loan.term_years,
        grace_years=loan.grace_years,
        min_principal_percent_per_year=loan.min_principal_percent_per_year,
    )


async def application_view(session: AsyncSession, application: Application) -> ApplicationOut:
    loan_id = (
        await session.execute(select(Loan.id).where(Loan.application_id == application.id))
    ).scalar_one_or_none()
    return ApplicationOut(
        application_id=application.id,
        household_id=application.household_id,
        commune_code=application.commune_code,
        applied_on=application.applied_on,
        programme_code=application.programme_code,
        status=application.status,
        listed_class=application.listed_class,
        priority_group=application.priority_group,
        amount_requested=application.amount_requested,
        failed_rules=list(application.failed_rules),
        reasons=list(application.reasons),
        list_id=application.list_id,
        approved_on=application.approved_on,
        loan_id=loan_id,
    )


async def approval_list_view(session: AsyncSession, approval_list: ApprovalList) -> ApprovalListOut:
    rows = await session.execute(
        select(ApprovalListEntry, Application.household_id)
        .join(Application, Application.id == ApprovalListEntry.application_id)
        .where(ApprovalListEntry.list_id == approval_list.id)
        .order_by(ApprovalListEntry.rank)
    )
    return ApprovalListOut(
        list_id=approval_list.id,
        commune_code=approval_list.commune_code,
        year=approval_list.year,
        programme_code=approval_list.programme_code,
        posted_on=approval_list.posted_on,
        posting_ends_on=approval_list.posting_ends_on,
        required_working_days=approval_list.required_working_days,
        quota=approval_list.quota,
        status=approval_list.status,
        approved_on=approval_list.approved_on,
        entries=[
            ListEntryOut(
                application_id=entry.application_id,
                household_id=household_id,
                rank=entry.rank,
                priority_group=entry.priority_group,
                outcome=entry.outcome,
            )
            for entry, household_id in rows.all()
        ],
    )
