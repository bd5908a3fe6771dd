"""RFC 9457 problem responses and the body-size limit, through a real FastAPI app."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.types import ASGIApp, Receive, Scope, Send
from structlog.testing import capture_logs

from shared.problems import (
    PROBLEM_MEDIA_TYPE,
    BodySizeLimitMiddleware,
    Conflict,
    NotFound,
    RuleViolation,
    Unauthorized,
    install_problem_handlers,
)

DEFAULT_LIMIT = 1_000
IMPORT_LIMIT = 10_000


class Member(BaseModel):
    citizen_id: str = Field(pattern=r"^\d{12}$")
    name: str


class NewHousehold(BaseModel):
    commune_code: str
    members: list[Member]


class RequestIdFromHeader:
    """Binds ``request_id`` the way a request-id middleware would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ()))
        request_id = headers.get(b"x-request-id", b"").decode() or None
        if request_id is None:
            await self.app(scope, receive, send)
            return
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send)


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=DEFAULT_LIMIT, overrides={"/imports": IMPORT_LIMIT}
    )
    app.add_middleware(RequestIdFromHeader)

    @app.post("/households", status_code=201)
    async def register_household(body: NewHousehold) -> dict[str, int]:
        return {"members": len(body.members)}

    @app.get("/households/{household_id}")
    async def get_household(household_id: str) -> dict[str, str]:
        raise NotFound(f"household {household_id} does not exist")

    @app.post("/households/{household_id}/review")
    async def review(household_id: str) -> None:
        raise RuleViolation("the review period is closed", field="body.review_date")

    @app.post("/cards")
    async def issue_card() -> None:
        raise Conflict("citizen already holds an active card", extra={"card_id": "c-1"})

    @app.get("/legacy")
    async def legacy() -> None:
        raise HTTPException(status_code=410, detail="moved to /households")

    @app.get("/private")
    async def private() -> None:
        raise Unauthorized("A bearer token is required.")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("postgres://ansinh:hunter2@db/households unreachable")

    @app.post("/notes")
    async def add_note(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/imports/households")
    async def import_households(request: Request) -> dict[str, int]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
        return {"received": received}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ansinh.test") as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert isinstance(body["title"], str) and body["title"]
    return body


async def chunks(size: int, chunk_size: int = 256) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        step = min(chunk_size, size - sent)
        sent += step
        yield b"x" * step


class TestValidationErrors:
    async def test_nested_body_error_names_the_field_path(self, client: httpx.AsyncClient) -> None:
        body = {"commune_code": "30316", "members": [{"citizen_id": "089123", "name": "Lê Văn A"}]}

        response = await client.post("/households", json=body)

        problem = assert_problem(response, 422)
        errors = problem["errors"]
        assert isinstance(errors, list)
        assert errors[0]["field"] == "body.members.0.citizen_id"
        assert errors[0]["type"] == "string_pattern_mismatch"
        assert "body.members.0.citizen_id" in str(problem["detail"])

    async def test_errors_do_not_echo_the_input(self, client: httpx.AsyncClient) -> None:
        body = {"commune_code": "30316", "members": [{"citizen_id": "089123"}]}

        response = await client.post("/households", json=body)

        problem = assert_problem(response, 422)
        assert "089123" not in response.text
        errors = problem["errors"]
        assert isinstance(errors, list)
        assert {e["field"] for e in errors} == {
            "body.members.0.citizen_id",
            "body.members.0.name",
        }

    async def test_valid_body_passes(self, client: httpx.AsyncClient) -> None:
        member = {"citizen_id": "089123456789", "name": "Lê Văn A"}
        response = await client.post(
            "/households", json={"commune_code": "30316", "members": [member]}
        )

        assert response.status_code == 201
        assert response.json() == {"members": 1}


class TestRaisedProblems:
    async def test_not_found_carries_detail_and_instance(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(await client.get("/households/h-42"), 404)

        assert problem["detail"] == "household h-42 does not exist"
        assert problem["type"] == "about:blank"

    async def test_rule_violation_names_its_field(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(await client.post("/households/h-42/review"), 422)

        assert problem["errors"] == [
            {
                "field": "body.review_date",
                "message": "the review period is closed",
                "type": "rule_violation",
            }
        ]

    async def test_extension_members_are_kept(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(await client.post("/cards"), 409)

        assert problem["card_id"] == "c-1"

    async def test_unauthorized_challenges_for_a_bearer_token(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/private")

        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_request_id_is_included_when_bound(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/households/h-42", headers={"X-Request-ID": "req-7"})

        assert assert_problem(response, 404)["request_id"] == "req-7"


class TestFrameworkErrors:
    async def test_unknown_route_is_a_problem(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(await client.get("/no/such/route"), 404)

        assert problem["title"] == "Not Found"

    async def test_wrong_method_is_a_problem_with_allow(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/households")

        assert_problem(response, 405)
        assert "POST" in response.headers["allow"]

    async def test_http_exception_detail_is_kept(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(await client.get("/legacy"), 410)

        assert problem["detail"] == "moved to /households"

    async def test_unhandled_error_hides_internals_and_is_logged(
        self, client: httpx.AsyncClient
    ) -> None:
        with capture_logs() as logs:
            response = await client.get("/boom")

        problem = assert_problem(response, 500)
        assert "hunter2" not in response.text
        assert "RuntimeError" not in response.text
        assert problem["detail"]
        [entry] = [e for e in logs if e["event"] == "unhandled_exception"]
        assert entry["path"] == "/boom"
        assert entry["method"] == "GET"
        assert isinstance(entry["exc_info"], RuntimeError)


class TestBodySizeLimit:
    async def test_declared_length_over_the_limit_is_rejected(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/notes", content=b"x" * (DEFAULT_LIMIT + 1))

        problem = assert_problem(response, 413)
        assert str(DEFAULT_LIMIT) in str(problem["detail"])

    async def test_body_at_the_limit_is_accepted(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/notes", content=b"x" * DEFAULT_LIMIT)

        assert response.status_code == 200
        assert response.json() == {"received": DEFAULT_LIMIT}

    async def test_chunked_body_over_the_limit_is_rejected(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/notes", content=chunks(DEFAULT_LIMIT * 3))

        assert "content-length" not in response.request.headers
        assert_problem(response, 413)

    async def test_chunked_json_over_the_limit_is_413_not_a_parse_error(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/households",
            content=chunks(DEFAULT_LIMIT * 3),
            headers={"content-type": "application/json"},
        )

        assert_problem(response, 413)

    async def test_import_prefix_accepts_a_larger_body(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/imports/households", content=chunks(IMPORT_LIMIT))

        assert response.status_code == 200
        assert response.json() == {"received": IMPORT_LIMIT}

    async def test_import_prefix_has_its_own_limit(self, client: httpx.AsyncClient) -> None:
        streamed = await client.post("/imports/households", content=chunks(IMPORT_LIMIT + 1))
        declared = await client.post("/imports/households", content=b"x" * (IMPORT_LIMIT + 1))

        assert_problem(streamed, 413)
        assert_problem(declared, 413)

    async def test_override_matches_whole_path_segments(self) -> None:
        middleware = BodySizeLimitMiddleware(build_app(), DEFAULT_LIMIT, {"/imports": IMPORT_LIMIT})

        assert middleware.limit_for("/imports") == IMPORT_LIMIT
        assert middleware.limit_for("/imports/households") == IMPORT_LIMIT
        assert middleware.limit_for("/importsx") == DEFAULT_LIMIT
        assert middleware.limit_for("/households") == DEFAULT_LIMIT


async def test_a_database_busy_past_its_timeout_is_a_503_to_retry_and_changes_nothing(
    tmp_path: Path,
) -> None:
    """A real SQLite write lock held elsewhere: the client is told to come back, not 500."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE notes (body TEXT)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05})
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/notes")
    async def add_note() -> dict[str, bool]:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes VALUES ('x')"))
        return {"added": True}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ansinh.test") as client:
            busy = await client.post("/notes")
            body = assert_problem(busy, 503)
            assert busy.headers["retry-after"] == "2"
            assert "nothing was changed" in str(body["detail"])
            holder.execute("ROLLBACK")
            assert holder.execute("SELECT count(*) FROM notes").fetchone() == (0,)
            again = await client.post("/notes")
            assert again.status_code == 200
            assert holder.execute("SELECT count(*) FROM notes").fetchone() == (1,)
    finally:
        holder.close()
        await engine.dispose()
