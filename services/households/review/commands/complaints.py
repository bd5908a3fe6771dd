"""Complaints about a review result or a classification: filing and resolving them.

An open complaint on a review blocks its recognition; an upheld one may correct the class the
review gives the household, or, once the review is recognised, reclassify it at once.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.households.commands import reclassify
from services.households.events import ComplaintFiled, ComplaintResolved
from services.households.models import Complaint, Household, Review, platform
from services.households.review.domain import ReviewConfig
from services.households.review.records import (
    listed_household_ids,
    open_case,
    review_classes,
    writable_household,
)
from services.households.review.schemas import ComplaintIn, ComplaintOut, ResolutionIn
from services.households.review.views import complaint_view
from shared.auth import Principal
from shared.outbox import append_event
from shared.problems import RuleViolation


async def file_complaint(
    session: AsyncSession, principal: Principal, body: ComplaintIn, config: ReviewConfig
) -> ComplaintOut:
    """Receive a household's complaint; an open complaint on a review blocks its recognition."""
    async with session.begin():
        household = await writable_household(
            session, principal, body.household_id, "body.household_id"
        )
        follows, what = await _filing_follows(session, household, body)
        if body.filed_on < follows:
            raise RuleViolation(
                f"filed_on {body.filed_on.isoformat()} is before {what} ({follows.isoformat()})",
                field="body.filed_on",
            )
        complaint = Complaint(
            id=str(uuid.uuid4()),
            household_id=household.id,
            review_id=body.review_id,
            commune_code=household.commune_code,
            filed_on=body.filed_on,
            subject=body.subject,
            due_on=body.filed_on + timedelta(days=config.complaint_resolution_days),
            status="open",
        )
        session.add(complaint)
        await append_event(
            session,
            platform,
            ComplaintFiled(
                complaint_id=complaint.id,
                household_id=household.id,
                commune_code=household.commune_code,
                review_id=body.review_id,
                filed_on=body.filed_on,
                due_on=complaint.due_on,
            ),
            household.id,
        )
    return complaint_view(complaint, date.today())


async def resolve_complaint(
    session: AsyncSession, principal: Principal, complaint_id: str, body: ResolutionIn
) -> ComplaintOut:
    """Answer a complaint; an upheld one may correct the household's class."""
    # The correction waits for recognition while the review is pending; otherwise (review
    # recognised, or no review) it reclassifies the household at once.
    async with session.begin():
        complaint = await open_case(
            session,
            principal,
            Complaint,
            complaint_id,
            kind="complaint",
            closed=lambda resolved: f"was resolved on {resolved.resolved_on}",
        )
        if body.resolved_on < complaint.filed_on:
            raise RuleViolation(
                f"resolved_on {body.resolved_on.isoformat()} is before the "
                f"complaint was filed ({complaint.filed_on.isoformat()})",
                field="body.resolved_on",
            )
        household = await session.get_one(Household, complaint.household_id, with_for_update=True)
        review = (
            await session.get(Review, complaint.review_id, with_for_update=True)
            if complaint.review_id
            else None
        )
        # Read before this complaint is marked upheld, or it would compare with itself.
        current, pending = await _class_in_question(session, household, review)
        corrected = body.corrected_class if body.outcome == "upheld" else None
        changed = corrected is not None and corrected != current
        complaint.status, complaint.resolved_on = "resolved", body.resolved_on
        complaint.outcome, complaint.resolution_note = body.outcome, body.note
        complaint.corrected_class, complaint.class_changed = corrected, changed
        await append_event(session, platform, _resolved(complaint, body, changed), household.id)
        if changed and corrected is not None and not pending:
            await reclassify(
                session,
                household,
                to_class=corrected,
                standard_code=household.class_standard_code,
                reasons=[f"complaint {complaint.id} upheld: class corrected to {corrected}"],
                effective_date=body.resolved_on,
                basis="complaint",
                review_id=complaint.review_id,
            )
    return complaint_view(complaint, date.today())


async def _filing_follows(
    session: AsyncSession, household: Household, body: ComplaintIn
) -> tuple[date, str]:
    """The day a complaint may not be filed before, and what happened on it; 422 when the
    review it names is not one listing the household."""
    if body.review_id is None:
        return household.registered_on, "the household was registered"
    review = await session.get(Review, body.review_id)
    if review is None or review.commune_code != household.commune_code:
        raise RuleViolation(
            f"review {body.review_id} does not exist in commune {household.commune_code}",
            field="body.review_id",
        )
    if household.id not in await listed_household_ids(session, review.id):
        raise RuleViolation(
            f"household {household.id} is not listed in review "
            f"{review.id}: list it first, or complain without review_id",
            field="body.review_id",
        )
    return review.opened_on, "the review opened"


def _resolved(complaint: Complaint, body: ResolutionIn, changed: bool) -> ComplaintResolved:
    """The complaint_resolved event of a complaint resolved as `body` says."""
    return ComplaintResolved(
        complaint_id=complaint.id,
        household_id=complaint.household_id,
        commune_code=complaint.commune_code,
        review_id=complaint.review_id,
        filed_on=complaint.filed_on,
        resolved_on=body.resolved_on,
        outcome=body.outcome,
        class_changed=changed,
    )


async def _class_in_question(
    session: AsyncSession, household: Household, review: Review | None
) -> tuple[str, bool]:
    """The class a correction would replace, and whether it waits for the review's recognition
    (true while the review is not recognised yet)."""
    if review is None or review.recognised_on is not None:
        return household.poverty_class, False
    listed = (await review_classes(session, review)).get(household.id)
    return (listed.poverty_class if listed else None) or household.poverty_class, True
