"""Wiring of the housing service: routers, the households-events consumer, the runtime."""

from __future__ import annotations

from fastapi import FastAPI

from services.housing.api import ROUTERS
from services.housing.api.deps import install_list_policy
from services.housing.handlers import HANDLERS, PREFETCH
from services.housing.models import Base, platform
from services.housing.settings import SERVICE, HousingSettings
from shared.config import ServiceSettings
from shared.events import topic_for
from shared.service import ConsumerSpec, ServiceDefinition, create_app

DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Housing: support loans for poor households (Decision 33/2015)",
    metadata=Base.metadata,
    tables=platform,
    routers=ROUTERS,
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
