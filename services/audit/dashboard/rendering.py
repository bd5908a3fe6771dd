"""Turning a template into a response: Jinja2, the translator, and the headers every page gets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from services.audit.dashboard.i18n import Lang, Translator, as_lang
from shared.auth import Principal

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True

LANG_COOKIE = "ansinh_lang"
CSRF_COOKIE = "ansinh_csrf"
CSRF_FIELD = "csrf_token"
_CSRF_BYTES = 32
_YEAR_SECONDS = 365 * 24 * 3600

#: Everything is served from this origin: no CDN, no inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Never leak a page address (it may name a household) to another site; same-origin keeps
    # the Origin header on form posts, which the CSRF check reads.
    "Referrer-Policy": "same-origin",
    # Pages may show personal data after a lookup: never keep them in a cache.
    "Cache-Control": "no-store",
}


def cookie_secure(request: Request) -> bool:
    """Whether cookies get the Secure flag: the audit setting, else when served over HTTPS."""
    configured = getattr(request.app.state.runtime.settings, "dashboard_secure_cookies", None)
    return bool(configured) if configured is not None else request.url.scheme == "https"


@dataclass
class Visit:
    """One request to the dashboard: who (if logged in), in which language, its CSRF token."""

    request: Request
    lang: Lang
    csrf_token: str
    csrf_is_new: bool
    principal: Principal | None = None

    @property
    def t(self) -> Translator:
        return Translator(self.lang)


def start_visit(request: Request, principal: Principal | None = None) -> Visit:
    """The visit's language (cookie, default Vietnamese) and CSRF token (cookie, else new)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    is_new = not (40 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum())
    if is_new:
        token = secrets.token_urlsafe(_CSRF_BYTES)
    return Visit(request, as_lang(request.cookies.get(LANG_COOKIE)), token, is_new, principal)


def secure(response: Response, visit: Visit | None = None) -> Response:
    """Add the security headers and, when the visit started one, the CSRF cookie."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if visit is not None and visit.csrf_is_new:
        response.set_cookie(
            CSRF_COOKIE,
            visit.csrf_token,
            max_age=_YEAR_SECONDS,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(visit.request),
            path="/",
        )
    return response


def page_url(request: Request, **changes: Any) -> str:
    """This page's path with some query parameters changed (None removes one)."""
    query = dict(request.query_params)
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = str(value)
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def render(visit: Visit, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` in the visit's language, with the security headers.

    ``back`` (for pages answering a POST) is where the language switch returns to.
    """
    request = visit.request
    # The language switch comes back here; after a POST, to the page it was made from.
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        here = context.pop("back", "/")
    context.update(
        t=visit.t,
        lang=visit.lang,
        visit=visit,
        principal=visit.principal,
        csrf_field=CSRF_FIELD,
        csrf_token=visit.csrf_token,
        here=here,
        page_url=lambda **changes: page_url(request, **changes),
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    secure(response, visit)
    return response
