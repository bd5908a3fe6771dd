"""Signing in to the dashboard with a real OpenID Connect provider, in Chromium and with httpx.

The provider is ``oidc-provider-mock`` (tests/audit/browser/provider.py). Of the Python
OpenID providers on PyPI it is the one that is a server, not a kit to build one from:

* oidc-provider-mock — despite its name a complete provider: Authlib's
  ``AuthorizationServer`` (the maintained OAuth/OIDC library the dashboard's client uses
  too) behind discovery, authorisation code, token, JWKS (RS256 ID tokens) and
  end-session endpoints, served by werkzeug on a loopback port in a thread of the test
  process; no configuration files, no network. It does not check PKCE itself, so the
  tests check the S256 challenge the browser carried against the verifier the client sent.
* idpyoidc — IdentityPython's maintained OIDC library; an OP needs its endpoint, key and
  user-store configuration and an HTTP layer written around it before it serves a request.
* pyop — also a provider *library* (the HTTP layer is the caller's), on the older pyoidc.

The apps are the real households and audit services on uvicorn, on the session's broker;
the households app registers one household in Xã An Cư so that commune scoping shows.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import oidc_provider_mock
import pytest
from playwright.async_api import Browser, Route, expect
from structlog.testing import capture_logs

from services.audit.app import create as create_audit
from services.households.app import create as create_households
from tests.audit.browser.provider import Provider, query_of, running_provider, s256
from tests.audit.browser.support import (
    COMMUNE,
    REQUESTED,
    TO_LOGIN,
    eventually,
    new_page,
    register_household,
    serving,
)
from tests.audit.integration.fixtures import audit_settings
from tests.factories import COMMUNE_NHON_HUNG
from tests.support import bearer, free_port, households_settings, token

pytestmark = pytest.mark.browser

CLIENT_ID = "ansinh-dashboard"
PROVIDER_NAME = "Sở Nội vụ SSO"
USERS = [
    oidc_provider_mock.User(sub="inspector-lan", claims={"roles": ["inspector"], "name": "Lan"}),
    # Keycloak's shape: realm roles under realm_access, next to roles the platform ignores.
    oidc_provider_mock.User(
        sub="operator-an-cu",
        claims={"realm_access": {"roles": ["offline_access", "operator"]}, "communes": [COMMUNE]},
    ),
    oidc_provider_mock.User(
        sub="operator-nhon-hung", claims={"roles": ["operator"], "communes": [COMMUNE_NHON_HUNG]}
    ),
    oidc_provider_mock.User(
        sub="citizen-binh", claims={"roles": ["offline_access"], "email": "b@x.vn"}
    ),
]
SIGNED_IN_TARGET = re.compile(r'http-equiv="refresh" content="0; url=([^"]+)"')


@dataclass
class Stack:
    audit: str
    provider: Provider
    household_id: str


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider(USERS) as running:
        yield running


@pytest.fixture(scope="module")
async def stack(
    topics: str, tmp_path_factory: pytest.TempPathFactory, provider: Provider
) -> AsyncIterator[Stack]:
    """Households and audit on real ports, the audit dashboard signing in at ``provider``."""
    root = tmp_path_factory.mktemp("oidc")
    data_dir = root / "data"
    data_dir.mkdir()
    households_app = create_households(
        households_settings(f"sqlite+aiosqlite:///{root / 'households.db'}", topics, data_dir)
    )
    audit_app = create_audit(
        audit_settings(
            f"sqlite+aiosqlite:///{root / 'audit.db'}",
            topics,
            data_dir,
            dashboard_oidc_issuer=provider.issuer,
            dashboard_oidc_provider_name=PROVIDER_NAME,
            dashboard_oidc_client_id=CLIENT_ID,
            dashboard_oidc_client_secret="dashboard-secret",
        )
    )
    async with (
        serving(households_app, free_port()) as households_url,
        serving(audit_app, free_port()) as audit_url,
    ):
        operator = token(data_dir, "operator", services=("households",), communes=(COMMUNE,))
        async with httpx.AsyncClient(base_url=households_url, timeout=30) as client:
            household = await register_household(client, operator)
        inspector = bearer(token(data_dir, "inspector"))
        async with httpx.AsyncClient(base_url=audit_url, timeout=30) as client:

            async def ledgered() -> bool:
                path = f"/views/households/{household['household_id']}"
                answer = await client.get(path, headers=inspector)
                return answer.status_code == 200 and bool(answer.json()["findings"])

            await eventually(ledgered)
        yield Stack(audit_url, provider, household["household_id"])


# --- httpx, following the redirects like a browser without script ---------------------


async def leave_for_provider(client: httpx.AsyncClient, next_path: str = "/") -> str:
    """The provider's authorisation URL the dashboard sends the browser to."""
    answer = await client.get("/login/oidc", params={"next": next_path})
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    assert "/oauth2/authorize?" in location
    return location


async def authorise(client: httpx.AsyncClient, authorization_url: str, subject: str) -> str:
    """The callback URL (with code and state) the provider answers when ``subject`` logs in."""
    form = await client.get(authorization_url)
    assert form.status_code == 200, form.text
    answer = await client.post(authorization_url, data={"sub": subject})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def sign_in(client: httpx.AsyncClient, subject: str, next_path: str = "/") -> httpx.Response:
    """The whole sign-in as ``subject``, then the page the dashboard moves on to."""
    callback = await authorise(client, await leave_for_provider(client, next_path), subject)
    signed_in = await client.get(callback, follow_redirects=True)
    assert signed_in.status_code == 200, signed_in.text
    target = SIGNED_IN_TARGET.search(signed_in.text)
    assert target is not None, signed_in.text
    return await client.get(target.group(1), follow_redirects=True)


def dashboard(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.audit, timeout=30)


def refusal(logs: list[dict[str, Any]]) -> str:
    """The reason of the structured line the dashboard logged when it refused a sign-in."""
    reasons = [line["reason"] for line in logs if line["event"] == "dashboard.sign_in_refused"]
    assert len(reasons) == 1, logs
    return str(reasons[0])


async def test_inspector_signs_in_with_pkce_and_reads_the_dashboard(stack: Stack) -> None:
    async with dashboard(stack) as client:
        login = await client.get("/login")
        assert f"Đăng nhập bằng {PROVIDER_NAME}" in login.text
        authorization_url = await leave_for_provider(client)
        asked = query_of(authorization_url)
        assert asked["client_id"] == CLIENT_ID and asked["code_challenge_method"] == "S256"
        assert asked["state"] and asked["nonce"] and "openid" in asked["scope"].split()
        callback = await authorise(client, authorization_url, "inspector-lan")
        signed_in = await client.get(callback)
        sent = stack.provider.token_requests[-1]
        assert s256(sent["code_verifier"]) == asked["code_challenge"]
        assert "ansinh_oidc_login" not in client.cookies  # the login is used up
        target = SIGNED_IN_TARGET.search(signed_in.text)
        assert target is not None and target.group(1) == "/"
        overview = await client.get("/")
        assert overview.status_code == 200
        assert "Tổng quan giám sát" in overview.text and "inspector-lan" in overview.text
        household = await client.get(f"/dashboard/households/{stack.household_id}")
        assert household.status_code == 200


async def test_an_operator_sees_only_their_commune(stack: Stack) -> None:
    findings = "/dashboard/findings?kind=&commune=&status=all"
    async with dashboard(stack) as client:
        page = await sign_in(client, "operator-an-cu", findings)
        assert page.status_code == 200 and stack.household_id in page.text
        assert "Cán bộ nghiệp vụ" in page.text
    async with dashboard(stack) as client:
        page = await sign_in(client, "operator-nhon-hung", findings)
        assert page.status_code == 200 and stack.household_id not in page.text
        household = await client.get(f"/dashboard/households/{stack.household_id}")
        assert household.status_code == 403
        other = await client.get(f"/dashboard/communes/{COMMUNE}")
        assert other.status_code == 403


async def test_a_tampered_state_is_refused(stack: Stack) -> None:
    async with dashboard(stack) as client:
        callback = await authorise(client, await leave_for_provider(client), "inspector-lan")
        tampered = re.sub(r"state=[^&]+", "state=forged", callback)
        with capture_logs() as logs:
            answer = await client.get(tampered)
        assert answer.status_code == 400
        assert "không khớp với lần đăng nhập" in answer.text
        assert refusal(logs) == "state mismatch"
        assert (await client.get("/")).headers.get("location", "").startswith("/login")


async def test_a_replayed_code_is_refused(stack: Stack) -> None:
    async with dashboard(stack) as client:
        callback = await authorise(client, await leave_for_provider(client), "inspector-lan")
        assert (await client.get(callback)).status_code == 200
        again = await client.get(callback)  # the same answer twice: no login in progress
        assert again.status_code == 400
    async with dashboard(stack) as client:
        fresh = query_of(await leave_for_provider(client))
        old_code = query_of(callback)["code"]
        replayed = await client.get(
            "/login/oidc/callback", params={"code": old_code, "state": fresh["state"]}
        )
        assert replayed.status_code == 401  # the provider refuses a code used once already
        assert "đã được dùng" in replayed.text
        assert "ansinh_inspector" not in client.cookies


async def test_an_id_token_for_another_audience_is_refused(stack: Stack) -> None:
    async with dashboard(stack) as client:
        authorization_url = await leave_for_provider(client)
        nonce = query_of(authorization_url)["nonce"]
        theirs = await stack.provider.id_token_for("another-app", "inspector-lan", nonce)
        assert jwt.decode(theirs, options={"verify_signature": False})["aud"] == ["another-app"]
        callback = await authorise(client, authorization_url, "inspector-lan")
        stack.provider.forge_id_token = lambda _ours: theirs
        try:
            with capture_logs() as logs:
                answer = await client.get(callback)
        finally:
            stack.provider.forge_id_token = None
        assert answer.status_code == 401 and "đối tượng nhận" in answer.text
        assert refusal(logs) == "ID token: token not issued for this audience"
        assert "ansinh_inspector" not in client.cookies


async def test_an_id_token_with_a_broken_signature_is_refused(stack: Stack) -> None:
    def promote(id_token: str) -> str:
        """The provider's token with its payload changed (admin) and its signature kept."""
        header, _, signature = id_token.split(".")
        claims = jwt.decode(id_token, options={"verify_signature": False}) | {"roles": ["admin"]}
        payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps(claims).encode()).decode()
        return f"{header}.{payload}.{signature}"

    async with dashboard(stack) as client:
        callback = await authorise(client, await leave_for_provider(client), "citizen-binh")
        stack.provider.forge_id_token = promote
        try:
            with capture_logs() as logs:
                answer = await client.get(callback)
        finally:
            stack.provider.forge_id_token = None
        assert answer.status_code == 401 and "chữ ký" in answer.text
        assert refusal(logs) == "ID token: token signature invalid"
        assert "ansinh_inspector" not in client.cookies


async def test_a_user_without_a_platform_role_is_refused(stack: Stack) -> None:
    async with dashboard(stack) as client:
        client.cookies.set("ansinh_lang", "en")
        callback = await authorise(client, await leave_for_provider(client), "citizen-binh")
        answer = await client.get(callback)
        assert answer.status_code == 403
        assert "Sign-in failed" in answer.text and "has no role on the platform" in answer.text
        assert "ansinh_inspector" not in client.cookies


async def test_provider_down_and_token_pasting_off(topics: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = audit_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
        topics,
        data_dir,
        run_consumers=False,
        dashboard_oidc_issuer=f"http://127.0.0.1:{free_port()}/realms/ansinh",  # nobody there
        dashboard_oidc_client_id=CLIENT_ID,
        dashboard_token_login=False,
    )
    async with (
        serving(create_audit(settings), free_port()) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        login = await client.get("/login")
        assert "Đăng nhập bằng 127.0.0.1" in login.text and "<textarea" not in login.text
        csrf = client.cookies["ansinh_csrf"]
        pasted = await client.post(
            "/login",
            data={
                "token": token(data_dir, "inspector"),
                "csrf_token": csrf,
            },
        )
        assert pasted.status_code == 403 and "ansinh_inspector" not in client.cookies
        down = await client.get("/login/oidc")
        assert down.status_code == 503
        assert "Hiện không kết nối được với nhà cung cấp định danh" in down.text


# --- headless Chromium -------------------------------------------------------------------


async def test_sign_in_and_out_in_the_browser(stack: Stack, browser: Browser) -> None:
    async with new_page(browser, stack.audit) as page:
        await page.goto("/dashboard/findings")
        await expect(page).to_have_url(TO_LOGIN)
        await page.click(f"text=Đăng nhập bằng {PROVIDER_NAME}")
        await page.click("button[value='inspector-lan']")  # the provider's login page
        await expect(page.locator("h1")).to_have_text("Phát hiện")
        await expect(page.locator(".account .role")).to_contain_text("inspector-lan")
        asked = next(query_of(u) for u in REQUESTED[id(page)] if "/oauth2/authorize" in u)
        assert asked["code_challenge_method"] == "S256"
        assert s256(stack.provider.token_requests[-1]["code_verifier"]) == asked["code_challenge"]

        await page.click("form[action='/logout'] button")
        await page.click("button:has-text('End session')")  # the provider's end-session page
        await expect(page).to_have_url(TO_LOGIN)
        assert "ansinh_inspector" not in {c["name"] for c in await page.context.cookies()}
        await page.goto("/")
        await expect(page).to_have_url(TO_LOGIN)


async def test_tampered_and_replayed_answers_in_the_browser(stack: Stack, browser: Browser) -> None:
    async def tamper(route: Route) -> None:
        """The provider's answer, with the state in the URL it sends the browser to changed."""
        if route.request.method != "POST":
            await route.continue_()
            return
        answer = await route.fetch(max_redirects=0)
        headers = answer.headers | {
            "location": re.sub(r"state=[^&]+", "state=forged", answer.headers["location"])
        }
        await route.fulfill(response=answer, headers=headers)

    async with new_page(browser, stack.audit) as page:
        await page.goto("/login")
        await page.click(f"text=Đăng nhập bằng {PROVIDER_NAME}")
        await page.route("**/oauth2/authorize*", tamper)
        await page.click("button[value='inspector-lan']")
        await expect(page.locator("h1")).to_have_text("Đăng nhập không thành công")
        await expect(page.locator(".error-box")).to_contain_text("bị sửa đổi")
        await page.unroute("**/oauth2/authorize*")

        await page.goto("/login")
        await page.click(f"text=Đăng nhập bằng {PROVIDER_NAME}")
        await page.click("button[value='inspector-lan']")
        await expect(page.locator("h1")).to_have_text("Tổng quan giám sát")
        callback = next(u for u in reversed(REQUESTED[id(page)]) if "/login/oidc/callback" in u)
        replayed = await page.goto(callback)
        assert replayed is not None and replayed.status == 400


async def test_operator_and_roleless_user_in_the_browser(stack: Stack, browser: Browser) -> None:
    async with new_page(browser, stack.audit) as page:
        await page.goto("/login?next=/dashboard/findings%3Fstatus%3Dall")
        await page.click(f"text=Đăng nhập bằng {PROVIDER_NAME}")
        await page.click("button[value='operator-nhon-hung']")
        await expect(page.locator("h1")).to_have_text("Phát hiện")
        await expect(page.locator("#findings-table tbody tr")).to_have_count(0)
        refused = await page.goto(f"/dashboard/households/{stack.household_id}")
        assert refused is not None and refused.status == 403

    async with new_page(browser, stack.audit) as page:
        await page.goto("/login")
        await page.click(f"text=Đăng nhập bằng {PROVIDER_NAME}")
        await page.click("button[value='citizen-binh']")
        await expect(page.locator("h1")).to_have_text("Đăng nhập không thành công")
        await expect(page.locator(".error-box")).to_contain_text("chưa được cấp vai trò nào")
