from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.households.app import HouseholdsSettings, create
from tests.support import running_app, token

pytestmark = pytest.mark.integration


def households_settings(
    database_url: str, bootstrap: str, data_dir: Path, **overrides: Any
) -> HouseholdsSettings:
    return HouseholdsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        data_dir=data_dir,
        relay_poll_seconds=0.2,
        log_level="WARNING",
        kafka_session_timeout_ms=2000,
        **overrides,
    )


@pytest.fixture
async def households(
    database_url: str, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The real households app (its database, relay and consumers) on the real broker."""
    async with running_app(create(households_settings(database_url, topics, data_dir))) as client:
        yield client


@pytest.fixture
def admin_headers(data_dir: Path) -> Callable[[], dict[str, str]]:
    return lambda: {"Authorization": f"Bearer {token(data_dir, 'admin')}"}
