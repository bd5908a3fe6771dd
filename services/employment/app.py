"""Wiring of the employment service: routers, the households projection and the runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import FastAPI

from services.employment import api, targets_api, training_api
from services.employment.admin_units import DEFAULT_FILE, seed_units
from services.employment.handlers import HANDLERS, PREFETCH
from services.employment.imports import router as imports_router
from services.employment.models import Base, platform
from shared.config import ServiceSettings, settings_class
from shared.events import topic_for
from shared.observability import get_logger
from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime, create_app

SERVICE = "employment"
log = get_logger(__name__)


class EmploymentSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Employment settings (ANSINH_EMPLOYMENT_*): counting and training policy."""

    # A worker placed again within the same period counts once towards the targets. The
    # plans count workers given jobs in a year, hence the calendar year by default.
    placement_period: Literal["calendar_month", "calendar_year"] = "calendar_year"
    graduate_placement_window_months: int = 6  # unconfirmed: no source fixes the window
    elementary_course_max_months: int = 3  # sơ cấp: "under 3 months" (docs/domain.md)
    admin_units_file: Path = DEFAULT_FILE


async def load_admin_units(runtime: ServiceRuntime) -> None:
    path = getattr(runtime.settings, "admin_units_file", DEFAULT_FILE)
    async with runtime.sessions() as session, session.begin():
        added = await seed_units(session, path)
    log.info("admin_units.loaded", file=str(path), added=added)


DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Employment: workers, vocational training, placements and targets",
    metadata=Base.metadata,
    tables=platform,
    routers=[api.router, training_api.router, targets_api.router, imports_router],
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
