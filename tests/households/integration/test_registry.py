"""Registry over HTTP: who may do what, and bad input changes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.support import bearer, token

pytestmark = pytest.mark.integration


def operator(data_dir: Path, commune: str = factories.COMMUNE_NHON_HUNG) -> dict[str, str]:
    return bearer(token(data_dir, "operator", services=("households",), communes=(commune,)))


async def count_households(client: httpx.AsyncClient, data_dir: Path) -> int:
    response = await client.get(
        "/households", params={"limit": 500}, headers=bearer(token(data_dir))
    )
    assert response.status_code == 200
    return len(response.json()["items"])


async def test_every_endpoint_but_health_needs_a_token(households: httpx.AsyncClient) -> None:
    assert (await households.get("/healthz")).status_code == 200
    assert (await households.get("/readyz")).json()["checks"] == {"database": True, "broker": True}
    for method, path in [
        ("GET", "/households"),
        ("POST", "/households"),
        ("GET", "/standards"),
        ("GET", "/households/x/assessments"),
        ("POST", "/classify"),
    ]:
        response = await households.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
    forged = bearer("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
    assert (await households.get("/households", headers=forged)).status_code == 401


async def test_operator_writes_only_in_own_commune(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    mine = await households.post(
        "/households", json=factories.household(), headers=operator(data_dir)
    )
    assert mine.status_code == 201
    other = factories.household(commune=factories.COMMUNE_AN_CU)
    refused = await households.post("/households", json=other, headers=operator(data_dir))
    assert refused.status_code == 403
    assert "30526" in refused.json()["detail"]
    inspector = bearer(token(data_dir, "inspector"))
    assert (await households.post("/households", json=other, headers=inspector)).status_code == 403
    # An operator lists only their own communes; an inspector sees all.
    admin_made = await households.post("/households", json=other, headers=bearer(token(data_dir)))
    assert admin_made.status_code == 201
    listed = (await households.get("/households", headers=operator(data_dir))).json()["items"]
    assert {h["commune_code"] for h in listed} == {factories.COMMUNE_NHON_HUNG}
    hidden = await households.get(
        f"/households/{admin_made.json()['household_id']}", headers=operator(data_dir)
    )
    assert hidden.status_code == 403


async def test_invalid_input_is_422_naming_the_field_and_writes_nothing(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    before = await count_households(households, data_dir)
    body = factories.household()
    body["members"][1]["citizen_id"] = "089123"  # too short
    response = await households.post("/households", json=body, headers=bearer(token(data_dir)))
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "body.members.1.citizen_id"
    assert "12 digits" in problem["errors"][0]["message"]
    wrong_sex = factories.household()
    wrong_sex["members"][0]["sex"] = "female"  # the ID encodes a man
    response = await households.post("/households", json=wrong_sex, headers=bearer(token(data_dir)))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.members.0.citizen_id"
    assert await count_households(households, data_dir) == before


async def test_duplicate_citizen_id_is_refused(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    first = factories.household()
    assert (
        await households.post("/households", json=first, headers=bearer(token(data_dir)))
    ).status_code == 201
    before = await count_households(households, data_dir)
    second = factories.household()
    second["members"][0] = dict(first["members"][0])
    response = await households.post("/households", json=second, headers=bearer(token(data_dir)))
    assert response.status_code == 409
    assert "body.members.0.citizen_id" in response.json()["detail"]
    assert await count_households(households, data_dir) == before


async def test_assessment_classifies_by_the_standard_in_force(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    created = await households.post(
        "/households", json=factories.household(), headers=bearer(token(data_dir))
    )
    household_id = created.json()["household_id"]
    response = await households.post(
        f"/households/{household_id}/assessments",
        headers=bearer(token(data_dir)),
        json={
            "assessed_on": "2019-10-01",
            "income_per_person_month": 800_000,
            "deprived_indicators": ["hygienic_latrine", "water_source", "information_assets"],
        },
    )
    assert response.status_code == 201, response.text
    assessment = response.json()
    assert assessment["standard_code"] == "QD-59-2015"
    assert assessment["computed_class"] == assessment["recorded_class"] == "poor"
    unknown = await households.post(
        f"/households/{household_id}/assessments",
        headers=bearer(token(data_dir)),
        json={
            "assessed_on": "2023-10-01",
            "income_per_person_month": 800_000,
            "deprived_indicators": ["hygienic_latrine"],
        },
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.deprived_indicators"
    override = await households.post(
        f"/households/{household_id}/assessments",
        headers=bearer(token(data_dir)),
        json={
            "assessed_on": "2019-10-01",
            "income_per_person_month": 2_000_000,
            "recorded_class": "poor",
        },
    )
    assert override.status_code == 422  # an override needs its reason


async def test_personal_data_reads_are_recorded(
    households: httpx.AsyncClient, data_dir: Path, topics: str
) -> None:
    from shared.events import topic_for
    from tests.support import read_events

    created = await households.post(
        "/households", json=factories.household(), headers=bearer(token(data_dir))
    )
    person_id = created.json()["members"][0]["person_id"]
    assert "full_name" not in created.json()["members"][0]
    service = bearer(
        token(data_dir, "service", services=("insurance",), subject="service:insurance")
    )
    response = await households.get(
        f"/persons/{person_id}/personal-data", params={"purpose": "card export"}, headers=service
    )
    assert response.status_code == 200
    assert response.json()["full_name"] == "Nguyễn Văn An"
    partner = bearer(token(data_dir, "partner"))
    assert (
        await households.get(
            f"/persons/{person_id}/personal-data", params={"purpose": "curious"}, headers=partner
        )
    ).status_code == 403
    reads = await read_events(
        topics,
        topic_for("households"),
        count=1,
        predicate=lambda e: (
            e.type.endswith("personal_data_read.v1") and e.data["person_id"] == person_id
        ),
    )
    assert reads[0].data["reader_subject"] == "service:insurance"
    assert reads[0].data["purpose"] == "card export"
