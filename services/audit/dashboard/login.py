"""Logging in and out of the dashboard, and choosing its language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.audit.dashboard.access import (
    DASHBOARD_ROLES,
    LOGIN_PATH,
    DashboardRoute,
    InspectorVisit,
    check_form,
    clear_session,
    local_path,
    refused_page,
    set_session,
    verify_token,
)
from services.audit.dashboard.i18n import LANGUAGES
from services.audit.dashboard.rendering import (
    CSRF_FIELD,
    LANG_COOKIE,
    cookie_secure,
    render,
    secure,
    start_visit,
)
from shared.auth import AuthenticationError, KeySetUnavailableError

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
MAX_TOKEN_LENGTH = 16_000
_YEAR_SECONDS = 365 * 24 * 3600


@router.get(LOGIN_PATH)
async def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    reason: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The form where an inspector pastes a bearer token."""
    visit = start_visit(request)
    notice = "login.expired" if reason == "expired" else None
    return render(visit, "login.html", next=local_path(next), notice=notice, error=None)


@router.post(LOGIN_PATH)
async def log_in(
    request: Request,
    token: Annotated[str, Form(max_length=MAX_TOKEN_LENGTH)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the token with the API's verifier; keep it in an HttpOnly cookie if it may enter."""
    visit = start_visit(request)
    check_form(visit, csrf_token)
    token = "".join(token.split()).removeprefix("Bearer")
    try:
        principal = await verify_token(request, token)
    except KeySetUnavailableError:
        return render(
            visit, "login.html", 503, next=local_path(next), error="login.keys", back=LOGIN_PATH
        )
    except AuthenticationError:
        return render(
            visit, "login.html", 401, next=local_path(next), error="login.invalid", back=LOGIN_PATH
        )
    if principal.role not in DASHBOARD_ROLES:
        return refused_page(visit, 403, "refused.role")
    response = RedirectResponse(local_path(next), status_code=303)
    set_session(response, request, token)
    return secure(response, visit)


@router.post("/logout")
async def log_out(
    visit: InspectorVisit, csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = ""
) -> Response:
    """Forget the token: the cookie is cleared and the login page shown."""
    check_form(visit, csrf_token)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_session(response, visit.request)
    return secure(response, visit)


@router.get("/dashboard/language")
async def choose_language(
    request: Request,
    to: Annotated[str, Query(max_length=5)],
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """Switch between Vietnamese and English (kept in a cookie), back to the same page."""
    response = RedirectResponse(local_path(next), status_code=303)
    if to in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            to,
            max_age=_YEAR_SECONDS,
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
            path="/",
        )
    return secure(response)
