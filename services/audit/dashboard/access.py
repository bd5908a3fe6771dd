"""Who may look at the dashboard: inspectors, admins and operators (their communes only).

The session cookie (HttpOnly, SameSite=Strict) holds one of two tokens, both checked on
every request by a :class:`shared.auth.TokenVerifier`:

* a bearer token pasted on the login page, checked by the API's own verifier
  (``app.state.token_verifier``), so the dashboard accepts exactly the tokens the API does;
* a session token minted after signing in with the OIDC provider (:mod:`.sign_in`),
  issuer ``ansinh-dashboard``, checked with the dashboard's session secret.

Operators see only the communes their token names (every page filters with
:func:`shared.auth.readable_communes`); partners and services get a 403 page.

Forms that change something (login, logout, a personal-data lookup) are POSTs carrying a
CSRF token that must equal the one in the (HttpOnly, SameSite=Strict) CSRF cookie, and
an ``Origin`` header, when the browser sends one, must name this server.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jwt
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from services.audit.dashboard.rendering import (
    CSRF_COOKIE,
    Visit,
    cookie_secure,
    render,
    secure,
    start_visit,
)
from services.audit.dashboard.sign_in import SESSION_ISSUER, sign_in_of
from shared.auth import (
    AuthenticationError,
    KeySetUnavailableError,
    Principal,
    Role,
    TokenVerifier,
)
from shared.problems import Forbidden, Problem, Unauthorized

SESSION_COOKIE = "ansinh_inspector"
DASHBOARD_ROLES = frozenset({Role.INSPECTOR, Role.ADMIN, Role.OPERATOR})
LOGIN_PATH = "/login"


class PageRefused(Exception):
    """Raised while serving a page: answer ``response`` (a redirect or an error page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class DashboardRoute(APIRoute):
    """A route whose dependencies may answer with a page (:class:`PageRefused`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except PageRefused as refused:
                return refused.response
            except Forbidden:
                # An operator asking for another commune's page: a page, not a JSON problem.
                visit = start_visit(request)
                return render(
                    visit,
                    "message.html",
                    403,
                    title_key="refused.title",
                    message_key="refused.commune",
                    home=True,
                )

        return answer


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this server (never another host), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


def session_issuer(token: str) -> str | None:
    """The ``iss`` the token claims (unverified: it only picks the verifier that checks it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


async def verify_token(request: Request, token: str) -> Principal:
    """The principal of the session's token (AuthenticationError if bad).

    A token the dashboard minted after a provider sign-in is checked with its session
    secret; any other by the API's own verifier.
    """
    sign_in = sign_in_of(request)
    if sign_in is not None and session_issuer(token) == SESSION_ISSUER:
        return sign_in.sessions.verify(token)
    verifier: TokenVerifier = request.app.state.token_verifier
    if verifier.uses_network:
        return await run_in_threadpool(verifier.verify, token)
    return verifier.verify(token)


def token_expiry(token: str) -> int:
    """Seconds until the (already verified) token expires, at least 0."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return max(0, int(claims.get("exp", 0)) - int(datetime.now(UTC).timestamp()))


def set_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=token_expiry(token),
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/",
    )


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=cookie_secure(request)
    )


def _to_login(request: Request, reason: str | None = None) -> Response:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": wanted} | ({"reason": reason} if reason else {})
    response = RedirectResponse(f"{LOGIN_PATH}?{urlencode(query)}", status_code=303)
    if reason:
        clear_session(response, request)
    return secure(response)


def refused_page(visit: Visit, status_code: int, message_key: str) -> Response:
    """The page saying why the request was refused (403, 503)."""
    return render(
        visit, "message.html", status_code, title_key="refused.title", message_key=message_key
    )


async def current_visit(request: Request) -> Visit:
    """The logged-in inspector's visit; a redirect to the login page or a 403 page otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise PageRefused(_to_login(request))
    visit = start_visit(request)
    try:
        principal = await verify_token(request, token)
    except KeySetUnavailableError as exc:
        raise PageRefused(refused_page(visit, 503, "refused.keys_unavailable")) from exc
    except AuthenticationError as exc:
        raise PageRefused(_to_login(request, "expired")) from exc
    if principal.role not in DASHBOARD_ROLES:
        raise PageRefused(refused_page(visit, 403, "refused.role"))
    visit.principal = principal
    return visit


InspectorVisit = Annotated[Visit, Depends(current_visit)]


async def current_reader(request: Request) -> Principal:
    """For the dashboard's JSON endpoints: the inspector of the cookie, else a 401/403 problem."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized("Log in to the dashboard first.")
    try:
        principal = await verify_token(request, token)
    except KeySetUnavailableError as exc:
        raise Problem(503, detail="Token signing keys are unavailable; retry later.") from exc
    except AuthenticationError as exc:
        raise Unauthorized(f"Invalid session: {exc.reason}.", error="invalid_token") from exc
    if principal.role not in DASHBOARD_ROLES:
        raise Forbidden(f"Role {principal.role} may not use the inspector dashboard.")
    return principal


CookieReader = Annotated[Principal, Depends(current_reader)]


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # older browsers send none on same-origin POSTs; the token still counts
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def check_form(visit: Visit, submitted: str) -> None:
    """Refuse a POST (403 page) unless its CSRF token matches the cookie and origin is ours."""
    cookie = visit.request.cookies.get(CSRF_COOKIE, "")
    valid = bool(cookie) and hmac.compare_digest(cookie.encode(), submitted.encode())
    if not (valid and same_origin(visit.request)):
        raise PageRefused(refused_page(visit, 403, "refused.csrf"))
