"""Logging in and out of the dashboard, and choosing its language.

Two ways in: pasting a bearer token (embedded mode; ``dashboard_token_login``), and
signing in with the OIDC provider (``dashboard_oidc_*``; :mod:`.sign_in`) at
``/login/oidc``, which comes back to ``/login/oidc/callback``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.audit.dashboard.access import (
    DASHBOARD_ROLES,
    LOGIN_PATH,
    SESSION_COOKIE,
    DashboardRoute,
    InspectorVisit,
    check_form,
    clear_session,
    local_path,
    refused_page,
    session_issuer,
    set_session,
    verify_token,
)
from services.audit.dashboard.i18n import LANGUAGES
from services.audit.dashboard.rendering import (
    CSRF_FIELD,
    LANG_COOKIE,
    Visit,
    cookie_secure,
    render,
    secure,
    start_visit,
)
from services.audit.dashboard.sign_in import (
    LOGIN_SECONDS,
    SESSION_ISSUER,
    ProviderSignIn,
    SignInRefused,
    sign_in_of,
)
from shared.auth import AuthenticationError, KeySetUnavailableError
from shared.observability import get_logger

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
log = get_logger(__name__)
PROVIDER_LOGIN_PATH = "/login/oidc"
PROVIDER_CALLBACK_PATH = "/login/oidc/callback"
#: Holds the login in progress (state, nonce, PKCE verifier) while the provider has the browser.
LOGIN_COOKIE = "ansinh_oidc_login"
MAX_TOKEN_LENGTH = 16_000
_YEAR_SECONDS = 365 * 24 * 3600


def login_form(visit: Visit, status_code: int = 200, **context: Any) -> Response:
    """The login page: the provider's button when one is configured, the token form if on."""
    sign_in = sign_in_of(visit.request)
    context.setdefault("notice", None)
    context.setdefault("error", None)
    return render(
        visit,
        "login.html",
        status_code,
        provider_name=sign_in.provider_name if sign_in else None,
        token_login=_token_login(visit.request),
        **context,
    )


def _token_login(request: Request) -> bool:
    settings = request.app.state.runtime.settings
    return bool(getattr(settings, "dashboard_token_login", True))


@router.get(LOGIN_PATH)
async def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    reason: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Sign in with the provider, or the form where an inspector pastes a bearer token."""
    visit = start_visit(request)
    notice = "login.expired" if reason == "expired" else None
    return login_form(visit, next=local_path(next), notice=notice)


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
    if not _token_login(request):
        return refused_page(visit, 403, "login.token_off")
    token = "".join(token.split()).removeprefix("Bearer")
    try:
        principal = await verify_token(request, token)
    except KeySetUnavailableError:
        return login_form(visit, 503, next=local_path(next), error="login.keys", back=LOGIN_PATH)
    except AuthenticationError:
        return login_form(visit, 401, next=local_path(next), error="login.invalid", back=LOGIN_PATH)
    if principal.role not in DASHBOARD_ROLES:
        return refused_page(visit, 403, "refused.role")
    response = RedirectResponse(local_path(next), status_code=303)
    set_session(response, request, token)
    return secure(response, visit)


@router.get(PROVIDER_LOGIN_PATH)
async def start_provider_sign_in(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """Off to the provider's login page, remembering state, nonce and PKCE verifier."""
    visit = start_visit(request)
    sign_in = sign_in_of(request)
    if sign_in is None:
        return secure(RedirectResponse(LOGIN_PATH, status_code=303), visit)
    try:
        started = await sign_in.start(_redirect_url(request, sign_in), local_path(next))
    except SignInRefused as refused:
        return sign_in_failed(visit, refused)
    response = RedirectResponse(started.authorization_url, status_code=303)
    response.set_cookie(
        LOGIN_COOKIE,
        started.login_token,
        max_age=LOGIN_SECONDS,
        httponly=True,
        # Lax, not Strict: the provider sends the browser back with a cross-site navigation.
        samesite="lax",
        secure=cookie_secure(request),
        path=PROVIDER_LOGIN_PATH,
    )
    return secure(response, visit)


@router.get(PROVIDER_CALLBACK_PATH)
async def finish_provider_sign_in(
    request: Request,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Where the provider sends the browser back: check it all, then open the session."""
    visit = start_visit(request)
    sign_in = sign_in_of(request)
    if sign_in is None:
        return secure(RedirectResponse(LOGIN_PATH, status_code=303), visit)
    try:
        login = sign_in.login_claims(request.cookies.get(LOGIN_COOKIE), state)
        if error is not None or not code:
            raise SignInRefused("signin.denied", 401, f"provider answered {error or 'no code'}")
        principal = await sign_in.finish(login, code, _redirect_url(request, sign_in))
        if principal.role not in DASHBOARD_ROLES:
            raise SignInRefused("refused.role", 403, f"role {principal.role} may not enter")
    except SignInRefused as refused:
        response = sign_in_failed(visit, refused)
    else:
        log.info("dashboard.signed_in", subject=principal.subject, role=str(principal.role))
        # A page that moves on rather than a redirect: after the provider's cross-site
        # redirect the browser would not send the SameSite=Strict session cookie along.
        target = local_path(str(login.get("next", "/")))
        response = render(visit, "signed_in.html", target=target)
        set_session(response, request, sign_in.session_token(principal))
    # The login is used up whatever happened: its code and state can only serve once.
    response.delete_cookie(
        LOGIN_COOKIE, path=PROVIDER_LOGIN_PATH, httponly=True, secure=cookie_secure(request)
    )
    return response


def _redirect_url(request: Request, sign_in: ProviderSignIn) -> str:
    return sign_in.redirect_url or str(request.url_for("finish_provider_sign_in"))


def sign_in_failed(visit: Visit, refused: SignInRefused) -> Response:
    """The page saying why signing in failed (never a 500), and a structured log line."""
    log.warning("dashboard.sign_in_refused", reason=refused.reason, status=refused.status)
    return render(
        visit,
        "message.html",
        refused.status,
        title_key="signin.failed",
        message_key=refused.message_key,
    )


@router.post("/logout")
async def log_out(
    visit: InspectorVisit, csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = ""
) -> Response:
    """Forget the session; after a provider sign-in, end the provider's session too."""
    check_form(visit, csrf_token)
    request = visit.request
    sign_in = sign_in_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    provider_logout = None
    if sign_in is not None and session_issuer(token) == SESSION_ISSUER:
        provider_logout = await sign_in.logout_url(str(request.url_for("login_page")))
    if provider_logout is None:
        response: Response = RedirectResponse(LOGIN_PATH, status_code=303)
    else:
        # A page that moves on by itself rather than a redirect: the form-action CSP of the
        # page that posted would refuse a form redirected to the provider's origin.
        visit.principal = None
        response = render(visit, "signed_out.html", provider_logout=provider_logout, back="/")
    clear_session(response, request)
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
