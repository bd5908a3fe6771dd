from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from shared.kafka import ensure_topics
from shared.localbroker import EmbeddedBroker, free_port
from tests.audit.browser.support import CHROMIUM, CHROMIUM_ARGS
from tests.support import (
    ensure_postgres_running,
    fresh_postgres_database,
    households_settings,
    running_app,
    token,
)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One real Tansu broker for the session, on a free loopback port."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(port=free_port(), log_path=log) as embedded:
        yield embedded


@pytest.fixture(scope="session")
async def topics(broker: EmbeddedBroker) -> str:
    await ensure_topics(broker.bootstrap)
    return broker.bootstrap


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    return ensure_postgres_running()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool
) -> AsyncIterator[str]:
    """Each test using this runs on SQLite and on the machine's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    if not postgres_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not running and could not be started")
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (never downloaded)."""
    if shutil.which(CHROMIUM) is None:
        missing = f"{CHROMIUM} is not installed (`make chromium` installs it)"
        if os.environ.get("CI"):  # CI must exercise the dashboard, never skip it
            pytest.fail(missing)
        pytest.skip(missing)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def households(
    database_url: str, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The real households app (its database, relay and consumers) on the real broker."""
    from services.households.app import create

    async with running_app(create(households_settings(database_url, topics, data_dir))) as client:
        yield client


@pytest.fixture
def admin_headers(data_dir: Path) -> Callable[[], dict[str, str]]:
    return lambda: {"Authorization": f"Bearer {token(data_dir, 'admin')}"}
