"""Wiring of the insurance service: routers, the households consumer, the periodic sweep."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI

from services.insurance.api import ROUTERS
from services.insurance.commands import sweep_periodically
from services.insurance.domain.policies import LocalRules
from services.insurance.handlers import HANDLERS, PREFETCH, handlers_for
from services.insurance.models import Base, platform
from services.insurance.settings import SERVICE, InsuranceSettings
from shared.config import ServiceSettings
from shared.events import topic_for
from shared.service import ConsumerSpec, ServiceDefinition, create_app

CONSUMER = "entitlements"

DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Insurance: health-insurance entitlements and cards",
    metadata=Base.metadata,
    tables=platform,
    routers=ROUTERS,
    consumers=[
        ConsumerSpec(
            name=CONSUMER,
            topics=[topic_for("households")],
            handlers=HANDLERS,
            prefetch=PREFETCH,
        )
    ],
    import_path_prefixes=["/imports"],
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The insurance ASGI app (settings from ANSINH_INSURANCE_* unless given)."""
    settings = settings or InsuranceSettings()
    rules = settings.local_rules() if isinstance(settings, InsuranceSettings) else LocalRules()
    spec = ConsumerSpec(
        name=CONSUMER,
        topics=[topic_for("households")],
        handlers=handlers_for(rules),
        prefetch=PREFETCH,
    )
    definition = dataclasses.replace(DEFINITION, consumers=[spec], background=[sweep_periodically])
    app = create_app(definition, settings)
    app.state.insurance_rules = rules
    return app
