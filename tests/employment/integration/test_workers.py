"""Workers: registered from household members, priority flags kept current by household events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.employment.app import create as create_employment
from services.households.app import create as create_households
from services.households.settings import HouseholdsSettings
from shared.events import topic_for
from tests import factories
from tests.employment.integration.fixtures import (
    admin,
    employment_app,
    employment_settings,
    eventually,
    household_events,
    operator,
    publish,
    reclassified,
    register_worker,
    served,
)
from tests.support import bearer, read_events, running_app, token

pytestmark = pytest.mark.integration
COMMUNE = factories.COMMUNE_NHON_HUNG


@pytest.fixture
async def employment(
    database_url: str, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with employment_app(database_url, topics, data_dir) as client:
        yield client


async def _worker_when(
    client: httpx.AsyncClient, headers: dict[str, str], worker_id: str, **expected: Any
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/workers/{worker_id}", headers=headers)).json()
        return body if all(body.get(k) == v for k, v in expected.items()) else None

    return await eventually(probe)


async def _make_poor(
    households: httpx.AsyncClient, headers: dict[str, str], household: str
) -> None:
    """A regular review on application: low income surveyed, approved, household now poor."""
    application = await households.post(
        "/applications",
        json={"household_id": household, "kind": "fall_into_poverty", "received_on": "2019-03-01"},
        headers=headers,
    )
    assert application.status_code == 201, application.text
    assessment = await households.post(
        f"/households/{household}/assessments",
        json={"assessed_on": "2019-03-04", "income_per_person_month": 500_000},
        headers=headers,
    )
    assert assessment.status_code == 201, assessment.text
    assert assessment.json()["recorded_class"] == "poor"
    decision = await households.post(
        f"/applications/{application.json()['application_id']}/decision",
        json={
            "decided_on": "2019-03-06",
            "outcome": "approved",
            "assessment_id": assessment.json()["assessment_id"],
        },
        headers=headers,
    )
    assert decision.status_code == 200, decision.text


async def test_priority_flags_follow_the_household_through_the_real_households_service(
    database_url: str, topics: str, data_dir: Path, tmp_path: Path
) -> None:
    households_app = create_households(
        HouseholdsSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'households.db'}",
            kafka_bootstrap_servers=topics,
            data_dir=data_dir,
            relay_poll_seconds=0.2,
            log_level="WARNING",
            kafka_session_timeout_ms=2000,
        )
    )
    async with served(households_app) as households_url:
        settings = employment_settings(
            database_url, topics, data_dir, households_api_url=households_url
        )
        async with (
            running_app(create_employment(settings)) as employment_api,
            httpx.AsyncClient(base_url=households_url) as households,
        ):
            headers = admin(data_dir)
            body = factories.household(members=2)  # a Kinh head and a Khmer spouse, rural
            created = await households.post("/households", json=body, headers=headers)
            assert created.status_code == 201, created.text
            household_id = created.json()["household_id"]
            spouse = created.json()["members"][1]["person_id"]

            worker = await register_worker(employment_api, headers, spouse)
            assert worker["rural_worker"] and worker["ethnic_minority"] and worker["priority"]
            assert not worker["poor_household"] and worker["household_class"] == "unclassified"

            await _make_poor(households, headers, household_id)
            await _worker_when(employment_api, headers, worker["worker_id"], poor_household=True)

            escape = await households.post(
                f"/households/{household_id}/escape-registrations",
                json={"registered_on": "2019-09-01"},
                headers=headers,
            )
            assert escape.status_code == 201, escape.text
            now = await _worker_when(
                employment_api, headers, worker["worker_id"], household_class="not_poor"
            )
            assert not now["poor_household"] and not now["near_poor_household"]
            assert now["household_class_history"] == [
                {"effective_date": "2019-03-06", "poverty_class": "poor"},
                {"effective_date": "2019-09-01", "poverty_class": "not_poor"},
            ]

            # Personal data is read from households when asked for, and households logs it.
            personal = await employment_api.get(
                f"/workers/{worker['worker_id']}/personal-data",
                params={"purpose": "labour export dossier"},
                headers=headers,
            )
            assert personal.status_code == 200, personal.text
            assert personal.json()["full_name"] == body["members"][1]["full_name"]
            reads = await read_events(
                topics,
                topic_for("households"),
                count=1,
                predicate=lambda e: (
                    e.type.endswith("personal_data_read.v1") and e.data["person_id"] == spouse
                ),
            )
            assert reads[0].data["reader_subject"] == "service:employment"
            assert "labour export dossier" in reads[0].data["purpose"]

    registered = await read_events(
        topics,
        topic_for("employment"),
        count=1,
        predicate=lambda e: e.subject == worker["worker_id"],
    )
    assert registered[0].type == "vn.ansinh.employment.worker_registered.v1"
    wire = str(registered[0].data)
    assert body["members"][1]["full_name"] not in wire
    assert body["members"][1]["citizen_id"] not in wire


async def test_a_redelivered_household_event_is_applied_once(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    household_id, (person,), events = household_events(members=(True,))
    await publish(topics, *events)
    worker = await register_worker(employment, admin(data_dir), person)
    made_poor = reclassified(household_id, COMMUNE, "unclassified", "poor", effective=_day(3))
    made_near_poor = reclassified(household_id, COMMUNE, "poor", "near_poor", effective=_day(9))
    # The same event (same ce_id) twice, as after a crash before the offset commit.
    await publish(topics, made_poor, made_poor, made_near_poor)
    now = await _worker_when(
        employment, admin(data_dir), worker["worker_id"], household_class="near_poor"
    )
    assert now["near_poor_household"] and not now["poor_household"]
    assert [c["poverty_class"] for c in now["household_class_history"]] == ["poor", "near_poor"]


def _day(month: int) -> date:
    return date(2019, month, 1)


async def test_an_unknown_person_or_a_bad_body_is_refused_naming_the_field(
    employment: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = admin(data_dir)
    unknown = await employment.post(
        "/workers",
        json={"person_id": "00000000-0000-0000-0000-000000000000", "registered_on": "2019-02-01"},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in unknown.json()["errors"]] == ["body.person_id"]
    malformed = await employment.post(
        "/workers", json={"person_id": "x", "registered_on": "someday"}, headers=headers
    )
    assert malformed.status_code == 422
    assert [e["field"] for e in malformed.json()["errors"]] == ["body.registered_on"]
    assert (await employment.get("/workers", headers=headers)).json()["items"] == []


async def test_callers_without_a_token_or_the_right_scope_are_refused(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    _household, (person,), events = household_events()
    await publish(topics, *events)
    body = {"person_id": person, "registered_on": "2019-02-01"}
    assert (await employment.post("/workers", json=body)).status_code == 401
    assert (await employment.get("/workers")).status_code == 401
    inspector = await employment.post("/workers", json=body, headers=_role(data_dir, "inspector"))
    assert inspector.status_code == 403
    households_only = operator(data_dir, COMMUNE, services=("households",))
    assert (
        await employment.post("/workers", json=body, headers=households_only)
    ).status_code == 403
    worker = await register_worker(employment, operator(data_dir, COMMUNE), person)
    other_commune = operator(data_dir, factories.COMMUNE_AN_CU)
    refused = await employment.post("/workers", json=body, headers=other_commune)
    assert refused.status_code == 403, refused.text
    for headers in (other_commune, households_only):
        placed = await employment.post(
            "/placements",
            json={
                "worker_id": worker["worker_id"],
                "kind": "self_employment",
                "placed_on": "2019-04-01",
                "monthly_wage": 3_000_000,
            },
            headers=headers,
        )
        assert placed.status_code == 403, placed.text
    seen = await employment.get(f"/workers/{worker['worker_id']}", headers=other_commune)
    assert seen.status_code == 403
    partner = await employment.get(
        f"/workers/{worker['worker_id']}/personal-data",
        params={"purpose": "curiosity"},
        headers=_role(data_dir, "partner"),
    )
    assert partner.status_code == 403


def _role(data_dir: Path, role: str) -> dict[str, str]:
    return bearer(token(data_dir, role))
