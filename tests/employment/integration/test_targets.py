"""Placements against the yearly plan: repeats not double-counted, priority share, scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events import topic_for
from tests import factories
from tests.employment.integration.fixtures import admin, employment_app, operator, seeded_workers
from tests.support import read_events

pytestmark = pytest.mark.integration
POOR_COMMUNE, OTHER_COMMUNE = factories.COMMUNE_NHON_HUNG, factories.COMMUNE_AN_CU
DISTRICT = "890"  # Tịnh Biên, covering both communes in the shipped administrative units


@pytest.fixture
async def employment(
    database_url: str, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with employment_app(database_url, topics, data_dir) as client:
        yield client


def _job(worker: str, on: str, **changes: Any) -> dict[str, Any]:
    return {
        "worker_id": worker,
        "kind": "domestic_employer",
        "placed_on": on,
        "employer": "Công ty TNHH Giày da An Giang",
        "monthly_wage": 5_500_000,
    } | changes


async def _place(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = await client.post("/placements", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _progress(
    client: httpx.AsyncClient, headers: dict[str, str], unit: str, as_of: str
) -> Any:
    response = await client.get(
        f"/targets/2019/{unit}/progress", params={"as_of": as_of}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_progress_counts_each_worker_once_and_the_share_to_poor_households(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = admin(data_dir)
    poor = await seeded_workers(
        employment, topics, headers, 2, commune=POOR_COMMUNE, poverty_class="poor"
    )
    (other,) = await seeded_workers(employment, topics, headers, 1, commune=OTHER_COMMUNE)
    district = await employment.put(
        f"/targets/2019/{DISTRICT}",
        json={"placements": 4000, "rural_trainees": 200},
        headers=headers,
    )
    assert district.status_code == 200, district.text
    assert district.json()["unit_level"] == "district"
    commune = await employment.put(
        f"/targets/2019/{POOR_COMMUNE}", json={"placements": 10}, headers=headers
    )
    assert commune.status_code == 200, commune.text

    first = await _place(employment, headers, _job(poor[0], "2019-03-01"))
    repeat = await _place(employment, headers, _job(poor[0], "2019-09-01"))
    assert not first["repeat_in_period"]
    assert repeat["repeat_in_period"] and repeat["first_placement_id"] == first["placement_id"]
    await _place(
        employment,
        headers,
        _job(poor[1], "2019-06-10", kind="labour_export", employer=None, destination_country="JP"),
    )
    await _place(employment, headers, _job(other, "2019-05-01"))

    year_end = await _progress(employment, headers, DISTRICT, "2019-12-31")
    assert year_end["placements"] == {
        "target": 4000,
        "achieved": 3,
        "percent_of_target": 0.1,
        "poor": 2,
        "near_poor": 0,
        "poor_and_near_poor_share_percent": 66.7,
    }
    assert len(year_end["communes"]) == 14 and year_end["placement_period"] == "calendar_year"
    assert year_end["rural_trainees"]["target"] == 200
    spring = await _progress(employment, headers, DISTRICT, "2019-05-31")
    assert spring["placements"]["achieved"] == 2
    in_commune = await _progress(employment, headers, POOR_COMMUNE, "2019-12-31")
    assert in_commune["placements"]["achieved"] == 2
    assert in_commune["placements"]["percent_of_target"] == 20.0
    assert in_commune["placements"]["poor_and_near_poor_share_percent"] == 100.0

    placed = await read_events(
        topics,
        topic_for("employment"),
        count=2,
        predicate=lambda e: e.data.get("worker_id") == poor[0] and e.type.endswith("placed.v1"),
    )
    assert [e.data["repeat_in_period"] for e in placed] == [False, True]
    assert placed[0].data["household_class"] == "poor"
    assert "monthly_wage" not in placed[0].data and "employer" not in placed[0].data
    targets = await read_events(
        topics,
        topic_for("employment"),
        count=1,
        predicate=lambda e: e.subject == district.json()["target_id"],
    )
    assert targets[0].data["placements"] == 4000


async def test_bad_placements_are_refused_naming_the_field_and_nothing_is_written(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = admin(data_dir)
    (worker,) = await seeded_workers(employment, topics, headers, 1)
    cases = [
        (
            _job(worker, "2019-03-01", kind="labour_export", employer=None),
            "body.destination_country",
        ),
        (_job(worker, "2019-03-01", employer=None), "body.employer"),
        (_job(worker, "2019-03-01", monthly_wage=-5), "body.monthly_wage"),
        (_job(worker, "2019-13-01"), "body.placed_on"),
        (_job(worker, "2019-03-01", kind="gig"), "body.kind"),
        (_job("nobody", "2019-03-01"), "body.worker_id"),
        (_job(worker, "2019-03-01", salary=1), "body.salary"),
    ]
    for body, field in cases:
        response = await employment.post("/placements", json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    placements = await employment.get(f"/workers/{worker}/placements", headers=headers)
    assert placements.json() == []


async def test_targets_are_set_by_those_responsible_for_every_commune_they_cover(
    employment: httpx.AsyncClient, data_dir: Path
) -> None:
    commune_officer = operator(data_dir, POOR_COMMUNE)
    refused = await employment.put(
        f"/targets/2019/{DISTRICT}", json={"placements": 4000}, headers=commune_officer
    )
    assert refused.status_code == 403
    own = await employment.put(
        f"/targets/2019/{POOR_COMMUNE}", json={"placements": 300}, headers=commune_officer
    )
    assert own.status_code == 200, own.text
    unknown = await employment.put(
        "/targets/2019/99999", json={"placements": 1}, headers=admin(data_dir)
    )
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["path.unit_code"]
    gone = await employment.put(
        f"/targets/2026/{DISTRICT}", json={"placements": 1}, headers=admin(data_dir)
    )
    assert gone.status_code == 422  # no district tier after 1 July 2025
    empty = await employment.put(f"/targets/2019/{POOR_COMMUNE}", json={}, headers=admin(data_dir))
    assert empty.status_code == 422
    listed = await employment.get("/targets", params={"year": 2019}, headers=admin(data_dir))
    assert [(t["unit_code"], t["placements"]) for t in listed.json()] == [(POOR_COMMUNE, 300)]
    assert (await employment.get(f"/targets/2019/{DISTRICT}/progress")).status_code == 401
