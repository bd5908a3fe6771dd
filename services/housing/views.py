"""Applications and approval lists as the API shows them (the response models of schemas.py);
each reads what it adds inside the caller's session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.housing.models import Application, ApprovalList, ApprovalListEntry, Loan
from services.housing.schemas import ApplicationOut, ApprovalListOut, ListEntryOut


async def application_view(session: AsyncSession, application: Application) -> ApplicationOut:
    """The application with its decision, list and the loan opened for it (if any)."""
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
    """The list with each application's rank and outcome, best-ranked first."""
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
