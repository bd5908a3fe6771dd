"""Vocational training: capacity held under concurrent enrolments, completion, drop-out, outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events import topic_for
from tests import factories
from tests.employment.integration.fixtures import admin, employment_app, seeded_workers
from tests.support import read_events

pytestmark = pytest.mark.integration
COMMUNE = factories.COMMUNE_NHON_HUNG


@pytest.fixture
async def employment(
    database_url: str, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with employment_app(database_url, topics, data_dir) as client:
        yield client


async def _course(client: httpx.AsyncClient, headers: dict[str, str], **changes: Any) -> str:
    body = {
        "trade": "may công nghiệp (industrial sewing)",
        "provider": "Trung tâm GDNN-GDTX Tịnh Biên",
        "commune_code": COMMUNE,
        "starts_on": "2019-03-01",
        "ends_on": "2019-05-15",
        "capacity": 3,
        "cost_per_trainee": 2_500_000,
    } | changes
    response = await client.post("/courses", json=body, headers=headers)
    assert response.status_code == 201, response.text
    course_id: str = response.json()["course_id"]
    return course_id


async def test_concurrent_enrolments_never_exceed_the_capacity(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = admin(data_dir)
    workers = await seeded_workers(employment, topics, headers, 8)
    course = await _course(employment, headers, capacity=3)

    async def enrol(worker_id: str) -> int:
        response = await employment.post(
            f"/courses/{course}/enrolments",
            json={"worker_id": worker_id, "enrolled_on": "2019-02-20"},
            headers=headers,
        )
        return response.status_code

    statuses = await asyncio.gather(*(enrol(w) for w in workers))
    assert sorted(statuses) == [201] * 3 + [409] * 5
    assert (await employment.get(f"/courses/{course}", headers=headers)).json()["seats_taken"] == 3
    enrolled = (await employment.get(f"/courses/{course}/enrolments", headers=headers)).json()
    assert len(enrolled) == 3


async def test_a_non_worker_or_a_bad_course_is_refused_and_nothing_is_written(
    employment: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = admin(data_dir)
    course = await _course(employment, headers)
    stranger = await employment.post(
        f"/courses/{course}/enrolments",
        json={"worker_id": "no-such-worker", "enrolled_on": "2019-02-20"},
        headers=headers,
    )
    assert stranger.status_code == 422
    assert [e["field"] for e in stranger.json()["errors"]] == ["body.worker_id"]
    assert (await employment.get(f"/courses/{course}", headers=headers)).json()["seats_taken"] == 0
    too_long = await employment.post(
        "/courses",
        json={
            "trade": "hàn (welding)",
            "provider": "Trung tâm GDNN",
            "commune_code": COMMUNE,
            "starts_on": "2019-03-01",
            "ends_on": "2019-07-01",
            "capacity": 20,
            "cost_per_trainee": 3_000_000,
        },
        headers=headers,
    )
    assert too_long.status_code == 422
    assert [e["field"] for e in too_long.json()["errors"]] == ["body.ends_on"]
    negative = await employment.post(
        "/courses",
        json={
            "trade": "x",
            "provider": "y",
            "commune_code": COMMUNE,
            "starts_on": "2019-03-01",
            "ends_on": "2019-04-01",
            "capacity": 0,
            "cost_per_trainee": -1,
        },
        headers=headers,
    )
    assert negative.status_code == 422
    fields = {e["field"] for e in negative.json()["errors"]}
    assert fields == {"body.capacity", "body.cost_per_trainee"}
    listed = await employment.get("/courses", params={"year": 2019}, headers=headers)
    assert [c["course_id"] for c in listed.json()] == [course]


async def test_graduates_drop_outs_and_whether_a_job_followed(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = admin(data_dir)
    graduate, leaver, newcomer = await seeded_workers(employment, topics, headers, 3)
    course = await _course(employment, headers, capacity=2)
    enrolments = {}
    for worker in (graduate, leaver):
        response = await employment.post(
            f"/courses/{course}/enrolments",
            json={"worker_id": worker, "enrolled_on": "2019-02-25"},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        enrolments[worker] = response.json()["enrolment_id"]
    full = await employment.post(
        f"/courses/{course}/enrolments",
        json={"worker_id": newcomer, "enrolled_on": "2019-03-02"},
        headers=headers,
    )
    assert full.status_code == 409

    dropped = await employment.post(
        f"/enrolments/{enrolments[leaver]}/drop-out",
        json={"dropped_on": "2019-03-10", "reason": "found_job"},
        headers=headers,
    )
    assert dropped.status_code == 200 and dropped.json()["status"] == "dropped"
    seat_freed = await employment.post(
        f"/courses/{course}/enrolments",
        json={"worker_id": newcomer, "enrolled_on": "2019-03-11"},
        headers=headers,
    )
    assert seat_freed.status_code == 201, seat_freed.text

    early = await employment.post(
        f"/enrolments/{enrolments[graduate]}/completion",
        json={"completed_on": "2019-02-28"},
        headers=headers,
    )
    assert early.status_code == 422
    assert [e["field"] for e in early.json()["errors"]] == ["body.completed_on"]
    completed = await employment.post(
        f"/enrolments/{enrolments[graduate]}/completion",
        json={"completed_on": "2019-05-15", "certificate_number": "SC-2019-0042"},
        headers=headers,
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["certificate_number"] == "SC-2019-0042"
    again = await employment.post(
        f"/enrolments/{enrolments[graduate]}/drop-out",
        json={"dropped_on": "2019-05-20", "reason": "other"},
        headers=headers,
    )
    assert again.status_code == 409

    url = f"/enrolments/{enrolments[graduate]}"
    on = {"as_of": "2019-06-01"}
    assert (await employment.get(url, params=on, headers=headers)).json()[
        "graduate_outcome"
    ] == "pending"
    placed = await employment.post(
        "/placements",
        json={
            "worker_id": graduate,
            "kind": "domestic_employer",
            "placed_on": "2019-08-01",
            "employer": "Công ty TNHH May Tịnh Biên",
            "monthly_wage": 5_200_000,
        },
        headers=headers,
    )
    assert placed.status_code == 201, placed.text
    outcome = await employment.get(url, params={"as_of": "2020-01-01"}, headers=headers)
    assert outcome.json()["graduate_outcome"] == "placed"

    events = await read_events(
        topics,
        topic_for("employment"),
        count=5,
        predicate=lambda e: e.data.get("course_id") == course,
    )
    assert sorted(e.type.split(".")[3] for e in events) == [
        "training_completed",
        "training_dropped",
        "training_enrolled",
        "training_enrolled",
        "training_enrolled",
    ]
    completion = next(e for e in events if e.type.endswith("training_completed.v1"))
    assert completion.data["certificate_issued"] is True
    assert "SC-2019-0042" not in str(completion.data)
