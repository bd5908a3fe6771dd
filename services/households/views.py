"""Rows as the API shows them (the response models of schemas.py)."""

from __future__ import annotations

from collections.abc import Sequence

from services.households.models import Assessment, Household, Person
from services.households.schemas import AssessmentOut, HouseholdOut, MemberOut


def household_view(household: Household, persons: Sequence[Person]) -> HouseholdOut:
    """A household without personal data (names and citizen IDs need the audited endpoint)."""
    return HouseholdOut(
        household_id=household.id,
        commune_code=household.commune_code,
        village=household.village,
        area=household.area,
        poverty_class=household.poverty_class,
        class_standard_code=household.class_standard_code,
        class_since=household.class_since,
        registered_on=household.registered_on,
        independent_since_year=household.independent_since_year,
        external_ref=household.external_ref,
        members=[
            MemberOut(
                person_id=p.id,
                sex=p.sex,
                date_of_birth=p.date_of_birth,
                ethnicity=p.ethnicity,
                relation_to_head=p.relation_to_head,
                citizen_pseudonym=p.citizen_pseudonym,
            )
            for p in persons
        ],
    )


def assessment_view(assessment: Assessment) -> AssessmentOut:
    """A recorded survey with its class and reasons."""
    return AssessmentOut(
        assessment_id=assessment.id,
        **{k: getattr(assessment, k) for k in AssessmentOut.model_fields if k != "assessment_id"},
    )
