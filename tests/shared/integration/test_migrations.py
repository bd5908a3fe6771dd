"""Each service's Alembic migrations produce exactly the schema its models declare."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import services
from shared.db import create_engine
from shared.migrations import SERVICES_DIR, upgrade_to_head

pytestmark = pytest.mark.integration

SERVICES = sorted(
    m.name
    for m in pkgutil.iter_modules(services.__path__)
    if (SERVICES_DIR / m.name / "migrations" / "env.py").exists()
)


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_models(service: str, database_url: str) -> None:
    # The metadata the service runs with: every table it owns, wherever its module is.
    metadata = importlib.import_module(f"services.{service}.app").DEFINITION.metadata
    await upgrade_to_head(service, database_url)
    await upgrade_to_head(service, database_url)  # a second run is a no-op
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": False}), metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == [], (
        f"{service}: models and migrations differ; run make migration SERVICE={service}"
    )
