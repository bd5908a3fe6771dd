"""Complaints about a review result or a classification, over HTTP.

An open complaint on a review blocks its recognition; an upheld one may correct the class the
review gives the household, or, once the review is recognised, reclassify it at once.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from services.households.events import ComplaintFiled, ComplaintResolved
from services.households.models import Complaint, Household, Review, platform
from services.households.operations import reclassify
from services.households.review_queries import (
    SERVICE,
    CommuneQuery,
    Config,
    complaint_view,
    listed_household_ids,
    review_classes,
    writable_household,
)
from services.households.review_schemas import ComplaintIn, ComplaintOut, ResolutionIn
from shared.auth import CurrentPrincipal, authorize_read, authorize_write, readable_communes
from shared.outbox import append_event
from shared.problems import Conflict, NotFound, RuleViolation, problem_responses
from shared.service import ResourceId, SessionDep

router = APIRouter(tags=["reviews"])


@router.post(
    "/complaints",
    status_code=status.HTTP_201_CREATED,
    response_model=ComplaintOut,
    responses=problem_responses(403),
)
async def file_complaint(
    body: ComplaintIn, principal: CurrentPrincipal, session: SessionDep, config: Config
) -> ComplaintOut:
    """Receive a household's complaint; an open complaint on a review blocks its recognition."""
    async with session.begin():
        household = await writable_household(
            session, principal, body.household_id, "body.household_id"
        )
        follows, what = household.registered_on, "the household was registered"
        if body.review_id is not None:
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
            follows, what = review.opened_on, "the review opened"
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


@router.post(
    "/complaints/{complaint_id}/resolution",
    response_model=ComplaintOut,
    responses=problem_responses(403, 404, 409),
)
async def resolve_complaint(
    complaint_id: ResourceId, body: ResolutionIn, principal: CurrentPrincipal, session: SessionDep
) -> ComplaintOut:
    """Answer a complaint; an upheld one may correct the household's class."""
    # The correction waits for recognition while the review is pending; otherwise (review
    # recognised, or no review) it reclassifies the household at once.
    async with session.begin():
        complaint = await session.get(Complaint, complaint_id, with_for_update=True)
        if complaint is None:
            raise NotFound(f"complaint {complaint_id} does not exist")
        authorize_write(principal, SERVICE, complaint.commune_code)
        if complaint.status != "open":
            raise Conflict(f"complaint {complaint.id} was resolved on {complaint.resolved_on}")
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
        await append_event(
            session,
            platform,
            ComplaintResolved(
                complaint_id=complaint.id,
                household_id=household.id,
                commune_code=complaint.commune_code,
                review_id=complaint.review_id,
                filed_on=complaint.filed_on,
                resolved_on=body.resolved_on,
                outcome=body.outcome,
                class_changed=changed,
            ),
            household.id,
        )
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


async def _class_in_question(
    session: SessionDep, household: Household, review: Review | None
) -> tuple[str, bool]:
    """The class a correction would replace, and whether it waits for the review's recognition
    (true while the review is not recognised yet)."""
    if review is None or review.recognised_on is not None:
        return household.poverty_class, False
    listed = (await review_classes(session, review)).get(household.id)
    return (listed.poverty_class if listed else None) or household.poverty_class, True


@router.get("/complaints", response_model=list[ComplaintOut], responses=problem_responses(403))
async def list_complaints(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: CommuneQuery = None,
    status_: Annotated[Literal["open", "resolved"] | None, Query(alias="status")] = None,
    review_id: ResourceId | None = None,
) -> list[ComplaintOut]:
    """Complaints the caller may read, oldest first."""
    authorize_read(principal, SERVICE, commune_code)
    query = select(Complaint).order_by(Complaint.filed_on, Complaint.id)
    allowed = readable_communes(principal)
    if allowed is not None:
        query = query.where(Complaint.commune_code.in_(allowed))
    if commune_code:
        query = query.where(Complaint.commune_code == commune_code)
    if status_:
        query = query.where(Complaint.status == status_)
    if review_id:
        query = query.where(Complaint.review_id == review_id)
    today = date.today()
    return [complaint_view(c, today) for c in (await session.execute(query)).scalars()]
