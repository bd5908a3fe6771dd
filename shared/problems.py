"""RFC 9457 problem details for every error an An Sinh service returns.

Raise a :class:`Problem` (or one of its subclasses) anywhere in a request; once
:func:`install_problem_handlers` is applied to the app, the client receives an
``application/problem+json`` body::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "household 9f1c… does not exist", "instance": "/households/9f1c…",
     "request_id": "…"}

Framework errors get the same shape: unknown routes (404), wrong methods (405),
invalid input (422 with ``errors[].field`` paths such as ``body.members.0.citizen_id``),
a database that is momentarily unavailable (503 with ``Retry-After``: SQLite busy past its
timeout, a PostgreSQL deadlock, serialization failure or lost connection — nothing was
applied, the request may be sent again) and unhandled exceptions (500, with nothing of the
internals).
:class:`BodySizeLimitMiddleware` answers oversized requests with a 413 problem.

:class:`ProblemDetails` documents that body in OpenAPI; declare the problems a route answers
with ``responses=problem_responses(404, 409)`` (or the whole :data:`PROBLEM_RESPONSES`).
"""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_MEDIA_TYPE = "application/problem+json"

_logger = structlog.get_logger(__name__)

# Members a problem body always defines itself; `extra` cannot overwrite them.
_STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Problem(Exception):
    """An error the client should see as an RFC 9457 problem document.

    ``extra`` holds extension members (e.g. ``{"errors": [...]}``); ``headers``
    are sent with the response (e.g. ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.title = title or _reason_phrase(status)
        self.detail = detail
        self.type_ = type_
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{status} {self.title}" + (f": {detail}" if detail else ""))


class _FixedStatusProblem(Problem):
    status_code: ClassVar[int]

    def __init__(
        self,
        detail: str | None = None,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(self.status_code, title, detail, type_=type_, extra=extra, headers=headers)


class NotFound(_FixedStatusProblem):
    """404: the addressed resource does not exist (or is not visible to the caller)."""

    status_code = 404


class Conflict(_FixedStatusProblem):
    """409: the request clashes with the resource's current state (duplicate, stale version)."""

    status_code = 409


class Forbidden(_FixedStatusProblem):
    """403: the caller is authenticated but not allowed to do this."""

    status_code = 403


class PayloadTooLarge(_FixedStatusProblem):
    """413: the request body exceeds the size this endpoint accepts."""

    status_code = 413


class Unauthorized(_FixedStatusProblem):
    """401 with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750).

    ``error`` is the RFC 6750 error code, e.g. ``"invalid_token"`` when a token was
    presented but rejected; leave it out when no credentials were sent at all.
    """

    status_code = 401

    def __init__(self, detail: str | None = None, *, error: str | None = None) -> None:
        challenge = f'Bearer error="{error}"' if error else "Bearer"
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class RuleViolation(_FixedStatusProblem):
    """422 for a domain rule the input breaks (the input itself was well-formed).

    ``field`` names the offending input (same path syntax as validation errors) and
    becomes an ``errors`` entry, so clients handle both kinds of 422 alike.
    """

    status_code = 422

    def __init__(
        self, detail: str, *, field: str | None = None, type_: str = "about:blank"
    ) -> None:
        extra = (
            {"errors": [{"field": field, "message": detail, "type": "rule_violation"}]}
            if field
            else None
        )
        super().__init__(detail, type_=type_, extra=extra)
        self.field = field


# --- OpenAPI description of the problem documents ---------------------------------------------


class FieldError(BaseModel):
    """One invalid input named by a 422 problem."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(description="path of the input, e.g. body.members.0.citizen_id")
    message: str
    type: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem document, sent as application/problem+json by every service."""

    # Problems may carry extension members, e.g. the ``report`` of a rejected import.
    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(None, description="the request path")
    request_id: str | None = None
    errors: list[FieldError] | None = Field(None, description="the invalid inputs (422)")


_PROBLEM_DESCRIPTIONS = {
    400: "the body cannot be read (not UTF-8, a broken multipart form)",
    401: "no bearer token, or one that was rejected",
    403: "the caller may not do this (role, service or commune)",
    404: "the addressed resource does not exist",
    409: "the request clashes with the current state (duplicate, already decided)",
    413: "the request body is too large",
    415: "the body's media type is not accepted",
    422: "invalid input or a broken rule; errors[].field names the input",
}

#: Every problem a route may declare, for ``responses=`` (the media type is fixed up by
#: ``shared.service.create_app``, which documents every 4xx/5xx as application/problem+json).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetails, "description": description}
    for status, description in _PROBLEM_DESCRIPTIONS.items()
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The :data:`PROBLEM_RESPONSES` entries of ``statuses``: ``problem_responses(404, 409)``."""
    return {status: PROBLEM_RESPONSES[status] for status in statuses}


def problem_response(request: Request, problem: Problem) -> Response:
    """The ``application/problem+json`` response for ``problem`` raised by ``request``."""
    body: dict[str, Any] = {"type": problem.type_, "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    # Path only: query strings may carry personal data (citizen ids in searches).
    body["instance"] = request.url.path
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id is not None:
        body["request_id"] = request_id
    for key, value in problem.extra.items():
        if key not in _STANDARD_MEMBERS:
            body[key] = value
    return JSONResponse(
        jsonable_encoder(body),
        status_code=problem.status,
        headers=problem.headers or None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "members", 0, "citizen_id")`` → ``"body.members.0.citizen_id"``."""
    return ".".join(str(part) for part in loc)


def _validation_problem(exc: RequestValidationError) -> Problem:
    # Only path, message and type go back: pydantic's "input" would echo personal
    # data (names, citizen ids) into responses and the logs that record them.
    errors = [
        {
            "field": field_path(err.get("loc", ())),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        detail = f"{first['field']}: {first['message']}{more}"
    else:
        detail = "The request is invalid"
    return Problem(422, detail=detail, extra={"errors": errors})


def _http_exception_problem(exc: HTTPException) -> Problem:
    title = _reason_phrase(exc.status_code)
    detail: str | None = None
    extra: dict[str, Any] = {}
    if isinstance(exc.detail, str):
        # Starlette fills in the reason phrase when no detail was given.
        detail = exc.detail if exc.detail != title else None
    elif exc.detail is not None:
        extra["errors"] = exc.detail if isinstance(exc.detail, list) else [exc.detail]
    return Problem(exc.status_code, title, detail, extra=extra, headers=exc.headers)


async def _handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(request, exc)


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304) or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem_response(request, _http_exception_problem(exc))


async def _handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(request, _validation_problem(exc))


#: SQLSTATEs of PostgreSQL errors worth retrying: serialization failure, deadlock, lock not
#: available, server shutting down or starting, too many connections.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P03", "53300"})
_TRANSIENT_SQLITE_MESSAGES = ("database is locked", "database is busy", "database table is locked")
RETRY_AFTER_SECONDS = 2


def is_transient_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not serve the request *now* (and undid it)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate is not None:
        return str(sqlstate) in _TRANSIENT_SQLSTATES or str(sqlstate).startswith("08")
    message = str(original).lower()
    return any(m in message for m in _TRANSIENT_SQLITE_MESSAGES)


#: SQLSTATE disk_full, and what SQLite says when a write finds no space or the disk fails.
_STORAGE_FULL_SQLSTATES = frozenset({"53100"})
_STORAGE_FULL_SQLITE_MESSAGES = ("database or disk is full", "disk i/o error")


def is_storage_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot take any write now (down, restarting, busy,
    out of space), rather than that this write is wrong: worth waiting for, not giving up on."""
    if isinstance(exc, OSError):  # the connection could not even be opened
        return True
    if is_transient_database_error(exc):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate is not None:
        return str(sqlstate) in _STORAGE_FULL_SQLSTATES
    message = str(original).lower()
    return any(m in message for m in _STORAGE_FULL_SQLITE_MESSAGES)


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    if is_transient_database_error(exc):
        _logger.warning(
            "database_unavailable", path=request.url.path, method=request.method, error=str(exc)
        )
        unavailable = Problem(
            503,
            detail="The database is busy; nothing was changed. Try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        return problem_response(request, unavailable)
    _logger.error("unhandled_exception", path=request.url.path, method=request.method, exc_info=exc)
    problem = Problem(500, detail="An unexpected error occurred; it has been logged.")
    return problem_response(request, problem)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error ``app`` returns an ``application/problem+json`` document."""
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(HTTPException, _handle_http_exception)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    # Registered for Exception, Starlette runs this in its outermost middleware,
    # which still re-raises afterwards so the server can log it too.
    app.add_exception_handler(Exception, _handle_unexpected)


class _BodyGuard:
    """Per-request state of :class:`BodySizeLimitMiddleware`."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self.max_bytes = max_bytes
        self.received = 0
        self.exceeded = False
        self.response_started = False
        self.rejected = False

    def _problem(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body exceeds the limit of {self.max_bytes} bytes.")

    async def reject(self) -> None:
        """Send the 413 problem (once) in place of whatever the app would answer."""
        if self.rejected:
            return
        self.rejected = self.response_started = True
        response = problem_response(Request(self.scope), self._problem())
        await response(self.scope, self._receive, self._send)

    async def receive(self) -> Message:
        if self.exceeded:
            raise self._problem()
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                self.exceeded = True
                raise self._problem()
        return message

    async def send(self, message: Message) -> None:
        # FastAPI turns any error raised while it reads the body into a 400, so once
        # the limit is crossed the app's own answer is replaced by the 413.
        if self.exceeded and not self.response_started:
            await self.reject()
        if self.rejected:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with a 413 problem.

    Checks the declared ``Content-Length`` before the app runs and counts streamed
    bytes as the app reads them, so chunked uploads cannot bypass the limit.
    ``overrides`` maps path prefixes to their own limit (e.g. ``{"/imports": 50_000_000}``
    for bulk CSV imports); the longest matching prefix wins.

    Starlette's own ``RequestBodyLimitMiddleware`` answers in plain text and has no
    per-prefix limits, hence this one.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Longest prefix first, so "/imports/large" beats "/imports".
        self.overrides = sorted((overrides or {}).items(), key=lambda kv: len(kv[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        """The body limit, in bytes, that applies to ``path``."""
        for prefix, limit in self.overrides:
            base = prefix.rstrip("/")
            if path == base or path.startswith(base + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = _BodyGuard(scope, receive, send, self.limit_for(scope["path"]))
        declared = _declared_length(scope)
        if declared is not None and declared > guard.max_bytes:
            await guard.reject()
            return
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            # Whatever the app raised after the body was cut off stems from that.
            if not guard.exceeded or (guard.response_started and not guard.rejected):
                raise
        if guard.exceeded and not guard.response_started:
            await guard.reject()
