"""Wiring of the households service: routers, consumers and the shared runtime."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from pydantic import Field

from services.households import api, review_api
from services.households.assessment_imports import router as assessment_imports_router
from services.households.handlers import HANDLERS
from services.households.imports import router as imports_router
from services.households.models import Base, platform
from shared.config import ServiceSettings, settings_class
from shared.events import topic_for
from shared.service import ConsumerSpec, ServiceDefinition, create_app

SERVICE = "households"


class HouseholdsSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Households settings (ANSINH_HOUSEHOLDS_*), review policy defaults from docs/domain.md."""

    review_agreement_threshold: float = 0.5
    review_quorum_share: float = 0.5  # unconfirmed: no source fixes a quorum
    review_posting_working_days: int = 3  # unconfirmed default
    application_decision_days: int = 15
    fall_into_poverty_working_days: int = 7
    complaint_resolution_days: int = 30  # unconfirmed default
    enforce_periodic_window: bool = True
    # Public holidays are announced year by year, so working-day deadlines take them as data.
    public_holidays: list[date] = Field(default_factory=list)


DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Households: registry, poverty classification and reviews",
    metadata=Base.metadata,
    tables=platform,
    routers=[api.router, review_api.router, imports_router, assessment_imports_router],
    consumers=[ConsumerSpec(name="class-counts", topics=[topic_for(SERVICE)], handlers=HANDLERS)],
    import_path_prefixes=["/imports"],
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The households ASGI app (settings from ANSINH_HOUSEHOLDS_* unless given)."""
    return create_app(DEFINITION, settings or HouseholdsSettings())
