"""Wiring of the insurance service: routers, the households consumer, the periodic sweep."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import Field

from services.insurance import api, exchange
from services.insurance.domain import LocalRules, local_date
from services.insurance.handlers import HANDLERS, PREFETCH, handlers_for
from services.insurance.lifecycle import sweep
from services.insurance.models import Base, platform
from services.insurance.operations import Outbox
from shared.config import ServiceSettings, settings_class
from shared.events import topic_for
from shared.observability import get_logger
from shared.outbox import append_events
from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime, create_app

SERVICE = "insurance"
CONSUMER = "entitlements"
log = get_logger(__name__)


class InsuranceSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Insurance settings (ANSINH_INSURANCE_*): what the locality decides."""

    # Communes designated poor, where the state pays 100% for near-poor households.
    poor_communes: list[str] = Field(default_factory=list)
    near_poor_subsidy_percent: int = Field(70, ge=0, le=100)
    # Unconfirmed (docs/domain.md): how long cover lasts after a household leaves its class.
    # Default: none, so no state-paid card outlives the recognition (none in excess).
    household_exit_grace_days: int = Field(0, ge=0)
    card_validity_months: int = Field(12, ge=1, le=60)
    # Unconfirmed: days from entitlement to an issued card before a person counts as missed.
    service_standard_days: int = Field(30, ge=0)
    province_code: str = Field("89", pattern=r"^\d{2}$")  # An Giang
    sweep_interval_seconds: float = Field(3600.0, gt=0)

    def local_rules(self) -> LocalRules:
        return LocalRules(
            poor_communes=frozenset(self.poor_communes),
            near_poor_percent=self.near_poor_subsidy_percent,
            household_exit_grace_days=self.household_exit_grace_days,
            card_validity_months=self.card_validity_months,
            service_standard_days=self.service_standard_days,
            province_code=self.province_code,
        )


DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Insurance: health-insurance entitlements and cards",
    metadata=Base.metadata,
    tables=platform,
    routers=[api.router, exchange.router],
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


async def sweep_periodically(runtime: ServiceRuntime) -> None:
    """Run the sweep for today now and every ``sweep_interval_seconds`` until cancelled."""
    interval = getattr(runtime.settings, "sweep_interval_seconds", 3600.0)
    while True:
        try:
            async with runtime.sessions() as session, session.begin():
                out: Outbox = []
                result = await sweep(session, local_date(datetime.now(UTC)), out)
                await append_events(session, platform, out)
            log.info("insurance.sweep", **{k: str(v) for k, v in vars(result).items()})
        except Exception as exc:  # a database hiccup: try again at the next interval
            log.warning("insurance.sweep_failed", error=repr(exc))
        await asyncio.sleep(interval)


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
