"""Property-based fuzzing of the households API: schemathesis derives requests, valid and
invalid, from the service's own OpenAPI document and sends them to the real app (its
database, relay and consumers on the real broker) as an admin.

Every answer must be no 5xx, documented (status, content type, headers, body schema), and
every 4xx an ``application/problem+json`` document. Generation is seeded and bounded (about
25 cases an operation), so a run is repeatable and short.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.households.app import create
from services.households.settings import HouseholdsSettings
from shared.localbroker import free_port
from tests import factories
from tests.support import bearer, token

pytestmark = [
    pytest.mark.integration,
    # schemathesis itself draws from `random` inside its strategies.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20250917,
        "generation": {
            "mode": "all",
            "max-examples": 25,
            "deterministic": True,
            "database": "none",
            # The admin token is sent with every case; generated credentials only get 401s.
            "with-security-parameters": False,
        },
        # The coverage phase would double the run time for boundary cases the fuzzing finds too.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


def _openapi_document() -> dict[str, Any]:
    """The document the app serves at /openapi.json (building it opens no database or broker)."""
    with tempfile.TemporaryDirectory() as scratch:
        return create(HouseholdsSettings(data_dir=Path(scratch), log_level="WARNING")).openapi()


# Loaded at import: schemathesis.pytest.from_fixture reads Node._nodeid, gone in pytest 9.2.
schema = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG)

# Ids of resources the fixture registers, by the name of the input that carries them, so that
# the fuzzer reaches the code behind "does not exist" as well as the 404s.
SEEDED: dict[str, Any] = {}


def _sometimes_seeded(values: Any) -> st.SearchStrategy[Any]:
    names = [name for name in values if name in SEEDED] if isinstance(values, dict) else []
    if not names:
        return st.just(values)
    return st.sampled_from([values, {**values, **{name: SEEDED[name] for name in names}}])


@schema.hook
def flatmap_path_parameters(ctx: schemathesis.HookContext, values: Any) -> st.SearchStrategy[Any]:
    return _sometimes_seeded(values)


@schema.hook
def flatmap_query(ctx: schemathesis.HookContext, values: Any) -> st.SearchStrategy[Any]:
    return _sometimes_seeded(values)


@schema.hook
def flatmap_body(ctx: schemathesis.HookContext, values: Any) -> st.SearchStrategy[Any]:
    return _sometimes_seeded(values)


def client_errors_are_problem_documents(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A 4xx is an RFC 9457 problem document whose status is the response's."""
    if not 400 <= response.status_code < 500:
        return
    media_type = response.headers.get("content-type", [""])[0]
    assert media_type.startswith("application/problem+json"), (response.status_code, media_type)
    assert response.json()["status"] == response.status_code


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    client_errors_are_problem_documents,
]


@pytest.fixture(scope="module")
def fuzz_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("households-fuzz")


@pytest.fixture(scope="module")
def households_url(topics: str, fuzz_data_dir: Path) -> Iterator[str]:
    """The real households app served by uvicorn on a loopback port, with seeded resources.

    The server runs in its own thread and event loop, which own the app's lifespan; the
    generated tests are synchronous.
    """
    settings = HouseholdsSettings(
        database_url=f"sqlite+aiosqlite:///{fuzz_data_dir / 'households.db'}",
        kafka_bootstrap_servers=topics,
        data_dir=fuzz_data_dir,
        relay_poll_seconds=0.2,
        log_level="WARNING",
        kafka_session_timeout_ms=2000,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="households-fuzz", daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "households did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        SEEDED.update(_seed(url, bearer(token(fuzz_data_dir))))
        yield url
    finally:
        SEEDED.clear()
        server.should_exit = True
        thread.join(timeout=60)


def _seed(url: str, admin: dict[str, str]) -> dict[str, Any]:
    """One of each resource the API addresses by id, registered over HTTP."""
    with httpx.Client(base_url=url, headers=admin, timeout=30) as client:

        def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            assert response.status_code == 201, response.text
            answer: dict[str, Any] = response.json()
            return answer

        household = created("/households", factories.household())
        household_id = household["household_id"]
        assessment = created(
            f"/households/{household_id}/assessments",
            {"assessed_on": "2024-09-20", "income_per_person_month": 1_200_000},
        )
        review = created(
            "/reviews",
            {
                "commune_code": factories.COMMUNE_NHON_HUNG,
                "village": "Ấp Hòa Thuận",
                "year": 2024,
                "opened_on": "2024-09-16",
                "household_ids": [household_id],
            },
        )
        complaint = created(
            "/complaints",
            {"household_id": household_id, "filed_on": "2024-10-01", "subject": "thu nhập"},
        )
        application = created(
            "/applications",
            {"household_id": household_id, "kind": "reassessment", "received_on": "2024-03-01"},
        )
    return {
        "household_id": household_id,
        "household_ids": [household_id],
        "person_id": household["members"][0]["person_id"],
        "assessment_id": assessment["assessment_id"],
        "review_id": review["review_id"],
        "complaint_id": complaint["complaint_id"],
        "application_id": application["application_id"],
        "commune_code": factories.COMMUNE_NHON_HUNG,
    }


@schema.parametrize()
def test_households_api_answers_every_request_as_documented(
    case: schemathesis.Case, households_url: str, fuzz_data_dir: Path
) -> None:
    response = case.call(base_url=households_url, headers=bearer(token(fuzz_data_dir)))
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        # Deadlines are computed from these days: past the calendar's end they overflowed (500).
        ("/complaints", {"filed_on": "9999-12-31"}, "body.filed_on"),
        ("/applications", {"received_on": "9999-12-30"}, "body.received_on"),
        # PostgreSQL text cannot hold U+0000: the insert failed after validation (500).
        ("/complaints", {"subject": "thu nhập\u0000"}, "body.subject"),
        ("/households", {"village": "Ấp\u0000"}, "body.village"),
        # Arabic-Indic digits matched the commune code's \d.
        ("/households", {"commune_code": "٣٠٣٣٧"}, "body.commune_code"),
    ],
)
def test_input_the_fuzzer_rarely_draws_is_a_problem_naming_the_field(
    households_url: str, fuzz_data_dir: Path, path: str, change: dict[str, str], field: str
) -> None:
    valid = {
        "/complaints": {
            "household_id": SEEDED["household_id"],
            "filed_on": "2024-10-02",
            "subject": "thu nhập",
        },
        "/applications": {
            "household_id": SEEDED["household_id"],
            "kind": "leave_poverty",
            "received_on": "2024-03-02",
        },
        "/households": factories.household(),
    }[path]
    response = httpx.post(
        households_url + path,
        json={**valid, **change},
        headers=bearer(token(fuzz_data_dir)),
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [field]
