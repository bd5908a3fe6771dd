"""Wiring of the households service: routers, consumers and the shared runtime."""

from __future__ import annotations

from fastapi import FastAPI

from services.households.api import ROUTERS
from services.households.handlers import HANDLERS
from services.households.models import Base, platform
from services.households.settings import SERVICE, HouseholdsSettings
from shared.config import ServiceSettings
from shared.events import topic_for
from shared.service import ConsumerSpec, ServiceDefinition, create_app

DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Households: registry, poverty classification and reviews",
    metadata=Base.metadata,
    tables=platform,
    routers=ROUTERS,
    consumers=[ConsumerSpec(name="class-counts", topics=[topic_for(SERVICE)], handlers=HANDLERS)],
    import_path_prefixes=["/imports"],
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The households ASGI app (settings from ANSINH_HOUSEHOLDS_* unless given)."""
    return create_app(DEFINITION, settings or HouseholdsSettings())
