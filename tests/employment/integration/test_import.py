"""Bulk import of placements and enrolments from CSV: per-row report, all or nothing, re-run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.employment.integration.fixtures import admin, employment_app, operator, seeded_workers
from tests.support import bearer, token

pytestmark = pytest.mark.integration
CSV = {"Content-Type": "text/csv"}
PLACEMENT_HEADER = (
    "placement_ref,worker_id,kind,placed_on,employer,destination_country,monthly_wage\n"
)


@pytest.fixture
async def employment(
    database_url: str, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with employment_app(database_url, topics, data_dir) as client:
        yield client


async def test_placements_are_imported_and_a_rerun_skips_them(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = admin(data_dir) | CSV
    a, b = await seeded_workers(employment, topics, admin(data_dir), 2)
    rows = (
        PLACEMENT_HEADER
        + f"TB-2019-001,{a},domestic_employer,2019-03-01,Công ty May Tịnh Biên,,5200000\n"
        + f"TB-2019-002,{b},labour_export,2019-04-15,,JP,28000000\n"
        + f"TB-2019-003,{a},self_employment,2019-08-01,,,3000000\n"
    )
    dry = await employment.post("/imports/placements?dry_run=true", content=rows, headers=headers)
    assert dry.status_code == 200, dry.text
    assert (dry.json()["accepted"], dry.json()["imported"]) == (3, 0)
    assert (await employment.get(f"/workers/{a}/placements", headers=headers)).json() == []

    first = await employment.post("/imports/placements", content=rows, headers=headers)
    assert first.status_code == 200, first.text
    assert (first.json()["rows_read"], first.json()["imported"]) == (3, 3)
    placed = (await employment.get(f"/workers/{a}/placements", headers=headers)).json()
    assert [p["repeat_in_period"] for p in placed] == [False, True]  # the same year twice

    again = await employment.post("/imports/placements", content=rows, headers=headers)
    assert again.status_code == 200, again.text
    assert (again.json()["imported"], again.json()["skipped_existing"]) == (0, 3)


async def test_a_file_with_bad_rows_is_reported_by_line_and_field_and_nothing_is_written(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    (worker,) = await seeded_workers(employment, topics, admin(data_dir), 1)
    rows = (
        PLACEMENT_HEADER
        + f"R1,{worker},domestic_employer,2019-03-01,Công ty A,,5000000\n"
        + "R2,no-such-worker,public_works,2019-03-02,UBND xã,,2000000\n"
        + f"R3,{worker},labour_export,2019-03-03,,,20000000\n"
        + f"R4,{worker},public_works,2019-02-30,UBND xã,,2000000\n"
        + f",{worker},public_works,2019-03-05,UBND xã,,-1\n"
    )
    response = await employment.post(
        "/imports/placements", content=rows, headers=admin(data_dir) | CSV
    )
    assert response.status_code == 422, response.text
    report = response.json()["report"]
    assert (report["accepted"], report["rejected"], report["imported"]) == (1, 4, 0)
    assert sorted((e["line"], e["field"]) for e in report["errors"]) == [
        (3, "worker_id"),
        (4, "destination_country"),
        (5, "placed_on"),
        (6, "monthly_wage"),
        (6, "placement_ref"),
    ]
    placements = await employment.get(f"/workers/{worker}/placements", headers=admin(data_dir))
    assert placements.json() == []


async def test_enrolments_import_respects_the_capacity_and_the_callers_commune(
    employment: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = admin(data_dir)
    workers = await seeded_workers(employment, topics, headers, 3)
    course = await employment.post(
        "/courses",
        json={
            "trade": "sửa chữa xe máy (motorbike repair)",
            "provider": "Trung tâm GDNN-GDTX Tịnh Biên",
            "commune_code": factories.COMMUNE_NHON_HUNG,
            "starts_on": "2019-04-01",
            "ends_on": "2019-06-15",
            "capacity": 2,
            "cost_per_trainee": 2_000_000,
        },
        headers=headers,
    )
    course_id = course.json()["course_id"]
    rows = "course_id,worker_id,enrolled_on\n" + "".join(
        f"{course_id},{w},2019-03-25\n" for w in workers
    )
    over = await employment.post("/imports/enrolments", content=rows, headers=headers | CSV)
    assert over.status_code == 422, over.text
    assert [(e["line"], e["field"]) for e in over.json()["report"]["errors"]] == [(4, "course_id")]
    assert "full" in over.json()["report"]["errors"][0]["message"]
    seats = (await employment.get(f"/courses/{course_id}", headers=headers)).json()["seats_taken"]
    assert seats == 0

    elsewhere = operator(data_dir, factories.COMMUNE_AN_CU) | CSV
    two = "".join(rows.splitlines(keepends=True)[:3])
    refused = await employment.post("/imports/enrolments", content=two, headers=elsewhere)
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["report"]["errors"]} == {"course_id"}

    imported = await employment.post("/imports/enrolments", content=two, headers=headers | CSV)
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 2
    seats = (await employment.get(f"/courses/{course_id}", headers=headers)).json()["seats_taken"]
    assert seats == 2
    inspector = await employment.post(
        "/imports/enrolments", content=two, headers=bearer(token(data_dir, "inspector")) | CSV
    )
    assert inspector.status_code == 403
