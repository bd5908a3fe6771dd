"""Wiring of the housing service: routers, the households-events consumer, the runtime."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from pydantic import Field

from services.housing import api, lists_api, loans_api
from services.housing.domain import ListPolicy
from services.housing.handlers import HANDLERS, PREFETCH
from services.housing.models import Base, platform
from shared.config import ServiceSettings, settings_class
from shared.events import topic_for
from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime, create_app

SERVICE = "housing"


class HousingSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Housing settings (ANSINH_HOUSING_*): how the commune's approval list is handled.

    Programme figures (cap, rate, term, grace) are versioned data in domain.POLICIES.
    """

    list_posting_working_days: int = 3  # unconfirmed: same default as the review posting
    yearly_quota_per_commune: int = 50  # unconfirmed: the province allocates it
    # Per-commune overrides, e.g. ANSINH_HOUSING_COMMUNE_QUOTAS='{"30511": 12}'.
    commune_quotas: dict[str, int] = Field(default_factory=dict)
    # Public holidays skipped when counting posting days.
    holidays: list[date] = Field(default_factory=list)


async def install_list_policy(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    runtime.extras["list_policy"] = ListPolicy(
        posting_working_days=getattr(settings, "list_posting_working_days", 3),
        yearly_quota_per_commune=getattr(settings, "yearly_quota_per_commune", 50),
        commune_quotas=dict(getattr(settings, "commune_quotas", {})),
        holidays=frozenset(getattr(settings, "holidays", [])),
    )


DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Housing: support loans for poor households (Decision 33/2015)",
    metadata=Base.metadata,
    tables=platform,
    routers=[api.router, lists_api.router, loans_api.router],
    consumers=[
        ConsumerSpec(
            name="household-facts",
            topics=[topic_for("households")],
            handlers=HANDLERS,
            prefetch=PREFETCH,
        )
    ],
    on_startup=[install_list_policy],
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The housing ASGI app (settings from ANSINH_HOUSING_* unless given)."""
    return create_app(DEFINITION, settings or HousingSettings())
