"""The inspector dashboard in headless Chromium, against the real audit and households apps.

Both apps run with uvicorn on real loopback ports, on the session's real broker; the
households app is driven over HTTP, so the audit service ledgers what it publishes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.async_api import Browser, Route, expect

from services.audit.app import create as create_audit
from services.households.app import create as create_households
from tests.audit.browser.support import (
    COMMUNE,
    HEAD_NAME,
    REQUESTED,
    TO_LOGIN,
    eventually,
    log_in,
    new_page,
    register_household,
    serving,
)
from tests.audit.integration.fixtures import audit_settings
from tests.factories import COMMUNE_NHON_HUNG
from tests.support import bearer, free_port, households_settings, token

pytestmark = pytest.mark.browser
T = TypeVar("T")

SCREENSHOTS = Path("/tmp")


@dataclass
class Stack:
    audit: str
    households: str
    data_dir: Path
    household_id: str
    person_ids: list[str]

    def inspector(self) -> str:
        return token(self.data_dir, "inspector", subject="inspector-lan")


@pytest.fixture(scope="module")
async def stack(topics: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The real households and audit apps on real ports, with one household's events ledgered."""
    root = tmp_path_factory.mktemp("dashboard")
    data_dir = root / "data"
    data_dir.mkdir()
    households_port, audit_port = free_port(), free_port()
    households_app = create_households(
        households_settings(f"sqlite+aiosqlite:///{root / 'households.db'}", topics, data_dir)
    )
    audit_app = create_audit(
        audit_settings(
            f"sqlite+aiosqlite:///{root / 'audit.db'}",
            topics,
            data_dir,
            households_api_url=f"http://127.0.0.1:{households_port}",
        )
    )
    async with (
        serving(households_app, households_port) as households_url,
        serving(audit_app, audit_port) as audit_url,
    ):
        operator = token(data_dir, "operator", services=("households",), communes=(COMMUNE,))
        async with httpx.AsyncClient(base_url=households_url, timeout=30) as client:
            household = await register_household(client, operator)
        stack = Stack(
            audit=audit_url,
            households=households_url,
            data_dir=data_dir,
            household_id=household["household_id"],
            person_ids=[m["person_id"] for m in household["members"]],
        )
        await _ledgered(stack)
        yield stack


async def _ledgered(stack: Stack) -> None:
    """Wait until the audit service shows the household, its assessment and the finding."""
    headers = bearer(stack.inspector())
    async with httpx.AsyncClient(base_url=stack.audit, timeout=30) as client:

        async def summary() -> dict[str, Any] | None:
            response = await client.get(f"/views/households/{stack.household_id}", headers=headers)
            body = response.json() if response.status_code == 200 else None
            return body if body and body["assessments"] and body["findings"] else None

        await eventually(summary)


async def test_inspector_logs_in_drills_down_to_a_household_and_verifies_its_trail(
    stack: Stack, browser: Browser
) -> None:
    async with new_page(browser, stack.audit) as page:
        await log_in(page, stack.inspector())
        await expect(page.locator("h1")).to_have_text("Tổng quan giám sát")
        for view in ("democracy", "fairness", "timeliness", "targets"):
            await expect(page.locator(f"#{view} svg.chart")).to_have_count(1)
        await page.screenshot(
            path=str(SCREENSHOTS / "ansinh-dashboard-overview.png"), full_page=True
        )

        await page.click("nav.nav >> text=Địa bàn")
        await page.click("text=Tỉnh An Giang")
        await page.click("table >> text=Xã An Cư")
        await expect(page.locator("h1")).to_contain_text("Xã An Cư")
        await page.click(f"a[href^='/dashboard/households/{stack.household_id}']")
        await expect(page.locator("h1")).to_contain_text("Hộ gia đình")

        timeline = page.locator("ol.timeline > li")
        await expect(timeline.first).to_be_visible()
        types = await timeline.evaluate_all("items => items.map(i => i.dataset.eventType)")
        assert "vn.ansinh.households.household_registered.v1" in types
        assert "vn.ansinh.households.household_assessed.v1" in types
        await expect(page.locator("ol.timeline")).to_contain_text("Đăng ký hộ gia đình")
        assert HEAD_NAME not in await page.content()

        first = timeline.first
        await first.locator("button.verify").click()
        await expect(first.locator(".verify-result")).to_have_attribute("data-state", "verified")
        # Chromium has Ed25519 in WebCrypto: the signature too was checked in the browser.
        await expect(first.locator(".verify-result")).to_contain_text(
            "Đã xác minh trong trình duyệt"
        )
        await page.screenshot(
            path=str(SCREENSHOTS / "ansinh-dashboard-household.png"), full_page=True
        )

        # On a tablet the panels stack; the screenshots are for a person to look at.
        await page.set_viewport_size({"width": 768, "height": 1024})
        await page.screenshot(path=str(SCREENSHOTS / "ansinh-dashboard-household-tablet.png"))
        await page.goto("/")
        await page.screenshot(
            path=str(SCREENSHOTS / "ansinh-dashboard-overview-tablet.png"), full_page=True
        )

        # Nothing was fetched from anywhere but the audit service itself.
        requested = REQUESTED[id(page)]
        assert all(url.startswith(stack.audit) for url in requested), requested


async def _flip_first_path_hash(route: Route) -> None:
    response = await route.fetch()
    proof = await response.json()
    if proof["audit_path"]:
        first = proof["audit_path"][0]
        proof["audit_path"][0] = ("0" if first[0] != "0" else "1") + first[1:]
    else:  # a one-leaf tree has no path: alter the signed root instead
        root = proof["tree_head"]["root_hash"]
        proof["tree_head"]["root_hash"] = ("0" if root[0] != "0" else "1") + root[1:]
    await route.fulfill(response=response, body=json.dumps(proof))


async def test_an_altered_proof_fails_verification(stack: Stack, browser: Browser) -> None:
    async with new_page(browser, stack.audit) as page:
        # Routed before the page loads, so no proof can reach the page unaltered.
        await page.route("**/dashboard/api/proofs/inclusion*", _flip_first_path_hash)
        await log_in(page, stack.inspector(), f"/dashboard/households/{stack.household_id}")
        item = page.locator("ol.timeline > li").nth(1)
        await item.locator("button.verify").click()
        await expect(item.locator(".verify-result")).to_have_attribute("data-state", "failed")
        await expect(item.locator(".verify-result")).to_contain_text("thất bại")

        await page.unroute("**/dashboard/api/proofs/inclusion*")
        await item.locator("button.verify").click()
        await expect(item.locator(".verify-result")).to_have_attribute("data-state", "verified")

        # The server's own check, for browsers without WebCrypto, agrees.
        leaf = await item.locator("button.verify").get_attribute("data-leaf")
        checked = await (await page.request.get(f"/dashboard/api/verify?leaf_index={leaf}")).json()
        assert (checked["inclusion"], checked["signature"]) == (True, True)


async def test_language_switches_between_vietnamese_and_english(
    stack: Stack, browser: Browser
) -> None:
    async with new_page(browser, stack.audit) as page:
        await log_in(page, stack.inspector())
        await expect(page.locator("h1")).to_have_text("Tổng quan giám sát")
        await expect(page.locator("html")).to_have_attribute("lang", "vi")
        await page.click("a.lang-switch")
        await expect(page.locator("h1")).to_have_text("Monitoring overview")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("#fairness h2")).to_have_text("Fairness")
        await page.click("a.lang-switch")
        await expect(page.locator("h1")).to_have_text("Tổng quan giám sát")


async def test_personal_data_is_shown_only_on_request_and_the_lookup_is_on_the_trail(
    stack: Stack, browser: Browser
) -> None:
    household_page = f"/dashboard/households/{stack.household_id}"
    head = stack.person_ids[0]
    async with new_page(browser, stack.audit) as page:
        await log_in(page, stack.inspector(), household_page)
        await expect(page.locator("#members")).to_be_visible()
        assert HEAD_NAME not in await page.content()
        form = page.locator(f"form[action$='/persons/{head}/personal-data']")
        await form.locator("input[name=purpose]").fill("kiểm tra hồ sơ khiếu nại")
        await form.locator("button[type=submit]").click()
        await expect(page.locator(f".personal[data-person='{head}'] .personal-name")).to_have_text(
            HEAD_NAME
        )

        async def lookup_on_trail() -> bool:
            await page.goto(household_page)
            reads = page.locator(
                "ol.timeline > li[data-event-type='vn.ansinh.households.personal_data_read.v1']"
            )
            return await reads.count() == 1

        await eventually(lookup_on_trail, within=60)
        read = page.locator(
            "ol.timeline > li[data-event-type='vn.ansinh.households.personal_data_read.v1']"
        )
        await expect(read).to_contain_text("Xem dữ liệu cá nhân")
        await expect(read.locator("details")).to_contain_text("inspector-lan")
        assert HEAD_NAME not in await page.content()


async def test_findings_are_listed_filtered_and_exported(stack: Stack, browser: Browser) -> None:
    async with new_page(browser, stack.audit) as page:
        await log_in(page, stack.inspector(), "/dashboard/findings")
        await page.select_option("select[name=kind]", "misclassified_assessment")
        await page.select_option("select[name=commune]", COMMUNE)
        await page.click("form.toolbar button[type=submit]")
        rows = page.locator("#findings-table tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Phân loại hộ sai chuẩn")
        await rows.first.locator("td").nth(3).locator("a").click()  # the subject
        await expect(page.locator("h1")).to_have_text("Sự kiện trong sổ cái")
        await page.click(f"a[href='/dashboard/households/{stack.household_id}']")
        await expect(page.locator("h1")).to_contain_text("Hộ gia đình")
        await page.go_back()
        await page.go_back()

        export = await page.request.get(
            "/dashboard/findings.csv?kind=misclassified_assessment&status=open"
        )
        assert export.ok
        lines = (await export.text()).lstrip("\ufeff").splitlines()
        assert lines[0].startswith("finding_id,key,kind,subject_id,commune_code")
        assert any(stack.household_id in line for line in lines[1:])

        await page.select_option("select[name=status]", "cleared")
        await page.click("form.toolbar button[type=submit]")
        await expect(rows).to_have_count(0)


async def test_operators_see_only_their_communes(stack: Stack, browser: Browser) -> None:
    household = f"/dashboard/households/{stack.household_id}"
    ours = token(stack.data_dir, "operator", services=("households",), communes=(COMMUNE,))
    async with new_page(browser, stack.audit) as page:
        await log_in(page, ours, household)
        await expect(page.locator("h1")).to_contain_text("Hộ gia đình")
    elsewhere = token(
        stack.data_dir, "operator", services=("households",), communes=(COMMUNE_NHON_HUNG,)
    )
    async with new_page(browser, stack.audit) as page:
        await log_in(page, elsewhere, "/dashboard/findings?status=all")
        await expect(page.locator("h1")).to_have_text("Phát hiện")
        await expect(page.locator("#findings-table tbody tr")).to_have_count(0)
        refused = await page.goto(household)
        assert refused is not None and refused.status == 403
        await expect(page.locator("h1")).to_have_text("Không có quyền truy cập")


async def test_other_roles_and_forged_forms_are_refused(stack: Stack, browser: Browser) -> None:
    async with new_page(browser, stack.audit) as page:
        await log_in(page, token(stack.data_dir, "service", subject="households"))
        await expect(page.locator("h1")).to_have_text("Không có quyền truy cập")
        cookies = {c["name"] for c in await page.context.cookies()}
        assert "ansinh_inspector" not in cookies
        await page.goto("/")
        await expect(page).to_have_url(TO_LOGIN)

    async with new_page(browser, stack.audit) as page:
        await log_in(page, token(stack.data_dir, "partner"))
        await expect(page.locator("h1")).to_have_text("Không có quyền truy cập")
        await log_in(page, stack.inspector()[:-4] + "AAAA")  # a forged signature
        await expect(page.locator(".error-box")).to_have_text(
            "Mã truy cập không hợp lệ hoặc đã hết hạn."
        )

    async with new_page(browser, stack.audit) as page:
        await log_in(page, stack.inspector())
        await expect(page.locator("h1")).to_have_text("Tổng quan giám sát")
        forged = await page.request.post("/logout", form={"csrf_token": "not-the-cookie-value"})
        assert forged.status == 403
        await page.goto("/")
        await expect(page.locator("h1")).to_have_text("Tổng quan giám sát")  # still logged in
        await page.click("form[action='/logout'] button")
        await expect(page).to_have_url(TO_LOGIN)
        await page.goto("/")
        await expect(page).to_have_url(TO_LOGIN)


async def test_every_page_of_the_dashboard_renders_in_both_languages(
    stack: Stack, browser: Browser
) -> None:
    head = stack.person_ids[0]
    async with new_page(browser, stack.audit) as page:
        await log_in(page, stack.inspector())
        await expect(page.locator("h1")).to_have_text("Tổng quan giám sát")
        registered = page.locator(
            "ol.timeline > li[data-event-type='vn.ansinh.households.household_registered.v1']"
        )
        await page.goto(f"/dashboard/households/{stack.household_id}")
        event_id = await registered.locator("button.verify").get_attribute("data-event-id")
        pages = {
            "/dashboard/views/democracy?commune=": "Dân chủ",  # the "all communes" choice
            "/dashboard/views/fairness": "Công bằng",
            "/dashboard/views/timeliness": "Kịp thời",
            f"/dashboard/views/targets?commune={COMMUNE}": "Chỉ tiêu kế hoạch · Xã An Cư",
            "/dashboard/areas?year=2019": "Địa bàn",
            "/dashboard/areas/890?year=2019": "Huyện Tịnh Biên",
            f"/dashboard/communes/{COMMUNE}?year=2019": "Xã An Cư",
            f"/dashboard/trail/{head}": "Dấu vết trong sổ cái",
            f"/dashboard/events/{event_id}": "Sự kiện trong sổ cái",
            "/dashboard/findings?kind=&commune=&status=all": "Phát hiện",
        }
        for path, title in pages.items():
            response = await page.goto(path)
            assert response is not None and response.status == 200, path
            await expect(page.locator("h1")).to_contain_text(title)
        await page.click("a.lang-switch")
        await expect(page.locator("h1")).to_have_text("Findings")
        for path in pages:
            response = await page.goto(path)
            assert response is not None and response.status == 200, path
        missing = await page.goto("/dashboard/households/00000000-0000-4000-8000-000000000000")
        assert missing is not None and missing.status == 404
        await expect(page.locator("h1")).to_have_text("Not found")
