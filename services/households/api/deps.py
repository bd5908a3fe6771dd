"""Dependencies of the households routes (typed with Annotated, as FastAPI resolves them)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Query

from services.households.review.domain import ReviewConfig, ReviewPolicy
from services.households.schemas import COMMUNE_CODE_PATTERN
from services.households.settings import HouseholdsSettings
from shared.service import Runtime


def review_config(runtime: Runtime) -> ReviewConfig:
    """The deployment's review configuration (built once from HouseholdsSettings)."""
    config = runtime.extras.get("review_config")
    if config is None:
        settings = cast(HouseholdsSettings, runtime.settings)
        config = ReviewConfig(
            policy=ReviewPolicy(
                agreement_threshold=settings.review_agreement_threshold,
                quorum_share=settings.review_quorum_share,
                posting_working_days=settings.review_posting_working_days,
                application_decision_days=settings.application_decision_days,
                fall_into_poverty_working_days=settings.fall_into_poverty_working_days,
            ),
            holidays=frozenset(settings.public_holidays),
            complaint_resolution_days=settings.complaint_resolution_days,
            enforce_periodic_window=settings.enforce_periodic_window,
        )
        runtime.extras["review_config"] = config
    return cast(ReviewConfig, config)


#: The review configuration of this deployment.
Config = Annotated[ReviewConfig, Depends(review_config)]
#: An optional ``commune_code`` filter of a list.
CommuneQuery = Annotated[str | None, Query(pattern=COMMUNE_CODE_PATTERN)]
