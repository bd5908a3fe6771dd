"""Recognition of a review's list by the commune chair: the listed households take the class
the review gives them, and the review ends."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.commands import reclassify
from services.households.events import ReviewRecognised
from services.households.models import Household, Review, platform
from services.households.review.commands.reviews import move_stage
from services.households.review.domain import ReviewConfig, ReviewStage, escapes_poverty
from services.households.review.records import ReviewClass, blockers_on, get_review, review_classes
from services.households.review.schemas import RecognitionIn, RecognitionOut
from services.households.settings import SERVICE
from shared.auth import Principal, authorize_write
from shared.outbox import append_event
from shared.problems import Conflict, Problem


async def recognise(
    session: AsyncSession,
    principal: Principal,
    review_id: str,
    body: RecognitionIn,
    config: ReviewConfig,
) -> RecognitionOut:
    """The commune chair recognises the list; listed households take the class it gives them."""
    async with session.begin():
        review = await get_review(session, review_id, for_update=True)
        authorize_write(principal, SERVICE, review.commune_code)
        if review.recognised_on is not None:
            raise Conflict(f"review {review.id} was recognised on {review.recognised_on}")
        blockers = await blockers_on(session, review, config, body.recognised_on)
        if blockers:
            raise _recognition_refused(body.recognised_on, blockers)
        move_stage(review.stage, ReviewStage.RECOGNISED)
        classes = await review_classes(session, review)
        households = {
            h.id: h
            for h in await session.scalars(
                select(Household).where(Household.id.in_(list(classes))).with_for_update()
            )
        }
        result = _recognition(review.id, body.recognised_on, classes, households)
        review.stage, review.recognised_on = ReviewStage.RECOGNISED.value, body.recognised_on
        counts = result.model_dump(include={"households_reviewed", "poor", "near_poor", "escaped"})
        recognised = ReviewRecognised(
            review_id=review.id,
            commune_code=review.commune_code,
            village=review.village,
            year=review.year,
            recognised_on=body.recognised_on,
            meeting_id=review.approved_meeting_id,
            posted_on=review.posted_on,
            posting_ends_on=review.posting_ends_on,
            **counts,
        )
        await append_event(session, platform, recognised, review.id)
        for household_id, review_class in classes.items():
            if await _apply_review_class(session, households[household_id], review, review_class):
                result.reclassified_household_ids.append(household_id)
    return result


def _recognition_refused(on: date, blockers: list[str]) -> Problem:
    """422 naming every blocker, one `errors` entry each."""
    errors = [
        {"field": "body.recognised_on", "message": blocker, "type": "recognition_blocker"}
        for blocker in blockers
    ]
    detail = f"the list may not be recognised on {on.isoformat()}: {'; '.join(blockers)}"
    return Problem(422, detail=detail, extra={"errors": errors})


def _recognition(
    review_id: str,
    on: date,
    classes: dict[str, ReviewClass],
    households: dict[str, Household],
) -> RecognitionOut:
    """What recognising gives: households per class, and how many leave poverty."""
    before = {household_id: households[household_id].poverty_class for household_id in classes}
    given = {
        household_id: c.poverty_class or before[household_id] for household_id, c in classes.items()
    }
    return RecognitionOut(
        review_id=review_id,
        recognised_on=on,
        households_reviewed=len(given),
        poor=sum(1 for c in given.values() if c == "poor"),
        near_poor=sum(1 for c in given.values() if c == "near_poor"),
        escaped=sum(1 for h, c in given.items() if escapes_poverty(before[h], c)),
        reclassified_household_ids=[],
    )


async def _apply_review_class(
    session: AsyncSession, household: Household, review: Review, review_class: ReviewClass
) -> bool:
    """Reclassify one household as the recognised review gives it; False when unchanged."""
    assessment, complaint = review_class.assessment, review_class.corrected_by
    to_class = review_class.poverty_class
    if to_class is None:  # unreachable: an approved meeting needs every listed household surveyed
        return False
    reasons = list(assessment.reasons) if assessment else []
    if complaint is not None:
        reasons.append(f"class corrected to {to_class} by upheld complaint {complaint.id}")
    assert review.recognised_on is not None
    return await reclassify(
        session,
        household,
        to_class=to_class,
        standard_code=assessment.standard_code if assessment else household.class_standard_code,
        reasons=reasons,
        effective_date=review.recognised_on,
        basis="periodic_review",
        review_id=review.id,
        assessment_id=assessment.id if assessment else None,
    )
