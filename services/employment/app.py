"""Wiring of the employment service: routers, the households projection and the runtime."""

from __future__ import annotations

from fastapi import FastAPI

from services.employment.api import ROUTERS
from services.employment.commands.admin_units import load_admin_units
from services.employment.handlers import HANDLERS, PREFETCH
from services.employment.models import Base, platform
from services.employment.settings import SERVICE, EmploymentSettings
from shared.config import ServiceSettings
from shared.events import topic_for
from shared.service import ConsumerSpec, ServiceDefinition, create_app

DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Employment: workers, vocational training, placements and targets",
    metadata=Base.metadata,
    tables=platform,
    routers=ROUTERS,
    consumers=[
        ConsumerSpec(
            name="household-projection",
            topics=[topic_for("households")],
            handlers=HANDLERS,
            prefetch=PREFETCH,
        )
    ],
    import_path_prefixes=["/imports"],
    on_startup=[load_admin_units],
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The employment ASGI app (settings from ANSINH_EMPLOYMENT_* unless given)."""
    return create_app(DEFINITION, settings or EmploymentSettings())
