"""Running apps on real ports and a headless Chromium for the browser tests."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect

from tests import factories
from tests.support import bearer

T = TypeVar("T")

COMMUNE = factories.COMMUNE_AN_CU  # Xã An Cư: the same code before and after July 2025
HEAD_NAME = "Nguyễn Văn An"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 90.0) -> T:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {within} s (last: {result!r})")
        await asyncio.sleep(0.3)


@asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[str]:
    """``app`` served by uvicorn on 127.0.0.1:``port`` (its lifespan included)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: _started(server, task), within=120)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises what stopped it
    return server.started


REQUESTED: dict[int, list[str]] = {}
TO_LOGIN = re.compile(r"/login(\?|$)")


@asynccontextmanager
async def new_page(browser: Browser, base_url: str) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies); every URL it requests is kept in REQUESTED."""
    context = await browser.new_context(base_url=base_url)
    page = await context.new_page()
    requested = REQUESTED.setdefault(id(page), [])
    page.on("request", lambda request: requested.append(request.url))
    try:
        yield page
    finally:
        await context.close()


async def log_in(page: Page, bearer_token: str, target: str = "/") -> None:
    await page.goto(target)
    await expect(page).to_have_url(TO_LOGIN)
    await page.fill("textarea[name=token]", bearer_token)
    await page.click("form[action='/login'] button[type=submit]")


async def register_household(client: httpx.AsyncClient, operator: str) -> dict[str, Any]:
    body = factories.household(commune=COMMUNE, members=3)
    body["members"][0]["full_name"] = HEAD_NAME
    response = await client.post("/households", json=body, headers=bearer(operator))
    assert response.status_code == 201, response.text
    household: dict[str, Any] = response.json()
    # Recorded as not poor against the standard's verdict: a misclassification finding.
    assessment = {
        "assessed_on": date.today().replace(month=3, day=2).isoformat(),
        "income_per_person_month": 400_000,
        "deprived_indicators": [],
        "recorded_class": "not_poor",
        "override_reason": "recorded as in the village list",
    }
    response = await client.post(
        f"/households/{household['household_id']}/assessments",
        json=assessment,
        headers=bearer(operator),
    )
    assert response.status_code == 201, response.text
    return household
