"""Bulk import of households through the real app, database and broker."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.households.app import create
from services.households.commands.household_import import CSV_COLUMNS
from shared.events import topic_for
from tests import factories
from tests.support import bearer, households_settings, read_events, running_app, token

pytestmark = pytest.mark.integration


def households_with_refs(
    count: int, *, commune: str = factories.COMMUNE_NHON_HUNG, members: int = 3
) -> list[dict[str, Any]]:
    batch = uuid.uuid4().hex[:8]
    return [
        {**factories.household(commune=commune, members=members), "household_ref": f"{batch}-{i}"}
        for i in range(count)
    ]


def as_csv(households: list[dict[str, Any]]) -> bytes:
    """One row per person, household columns repeated on every row (as spreadsheets export)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for household in households:
        shared = {k: v for k, v in household.items() if k != "members"}
        for member in household["members"]:
            writer.writerow({**shared, **member})
    return b"\xef\xbb\xbf" + out.getvalue().encode()


async def import_csv(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, **params: str
) -> httpx.Response:
    """POST the CSV as the multipart field ``file``, as a browser form sends it."""
    return await client.post(
        "/imports/households",
        params=params,
        headers=headers,
        files={"file": ("households.csv", content, "text/csv")},
    )


def counts(report: dict[str, Any]) -> tuple[int, ...]:
    return tuple(
        report[k] for k in ("rows_read", "accepted", "rejected", "imported", "skipped_existing")
    )


async def registered_refs(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    """external_ref → household_id of every registered household."""
    response = await client.get("/households", params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    return {h["external_ref"]: h["household_id"] for h in response.json()["items"]}


async def test_a_valid_csv_is_imported_and_its_events_are_published(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    rows = households_with_refs(3)
    response = await import_csv(households, headers, as_csv(rows))
    assert response.status_code == 200, response.text
    report = response.json()
    assert counts(report) == (9, 3, 0, 3, 0)
    assert (report["errors"], report["dry_run"], report["format"]) == ([], False, "csv")

    ids = await registered_refs(households, headers)
    assert set(ids) == {h["household_ref"] for h in rows}
    events = await read_events(
        topics, topic_for("households"), count=12, predicate=lambda e: e.subject in ids.values()
    )
    kinds = [e.type.split(".")[3] for e in events]
    assert kinds.count("household_registered") == 3 and kinds.count("person_added") == 9
    wire = json.dumps([e.data for e in events])
    assert all(m["citizen_id"] not in wire for h in rows for m in h["members"])


async def test_bad_rows_are_reported_by_line_and_nothing_is_written(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    already = factories.household(members=2)
    assert (await households.post("/households", json=already, headers=headers)).status_code == 201
    rows = households_with_refs(5, members=2)
    # The header is line 1: household i is on lines 2+2i (its head) and 3+2i (the spouse).
    spouse = rows[0]["members"][1]
    spouse["citizen_id"] = spouse["citizen_id"][:3] + "0" + spouse["citizen_id"][4:]  # male digit
    rows[1]["members"][0]["full_name"] = ""
    rows[3]["members"][0]["citizen_id"] = already["members"][0]["citizen_id"]
    rows[4]["members"][0]["citizen_id"] = rows[2]["members"][0]["citizen_id"]

    response = await import_csv(households, headers, as_csv(rows))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    report = response.json()["report"]
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "citizen_id"),
        (4, "full_name"),
        (8, "citizen_id"),
        (10, "citizen_id"),
    ]
    messages = [e["message"] for e in report["errors"]]
    assert "encodes male, but sex is female" in messages[0]
    assert messages[1] == "Field required"
    assert "already registered in another household" in messages[2]
    assert messages[3] == "repeats the citizen ID of line 6"
    assert counts(report) == (10, 1, 4, 0, 0)
    # Only the household registered through the API (it has no external_ref).
    assert set(await registered_refs(households, headers)) == {None}


async def test_running_the_same_file_again_skips_what_was_imported(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    content = as_csv(households_with_refs(3))
    first = await import_csv(households, headers, content)
    assert counts(first.json()) == (9, 3, 0, 3, 0)
    again = await import_csv(households, headers, content)
    assert again.status_code == 200, again.text
    assert counts(again.json()) == (9, 3, 0, 0, 3)
    assert len(await registered_refs(households, headers)) == 3


async def test_a_dry_run_validates_without_writing(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    response = await import_csv(
        households, headers, as_csv(households_with_refs(2)), dry_run="true"
    )
    assert response.status_code == 200, response.text
    assert counts(response.json()) == (6, 2, 0, 0, 0)
    assert response.json()["dry_run"] is True
    assert await registered_refs(households, headers) == {}


async def test_an_operator_cannot_import_households_of_another_commune(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    operator = bearer(
        token(data_dir, "operator", services=("households",), communes=(factories.COMMUNE_AN_CU,))
    )
    rows = households_with_refs(1, commune=factories.COMMUNE_AN_CU) + households_with_refs(
        1, commune=factories.COMMUNE_NHON_HUNG
    )
    response = await import_csv(households, operator, as_csv(rows))
    assert response.status_code == 422, response.text
    errors = response.json()["report"]["errors"]
    assert errors == [
        {
            "line": 5,
            "field": "commune_code",
            "message": f"not authorised to import households of commune "
            f"{factories.COMMUNE_NHON_HUNG}",
        }
    ]
    assert await registered_refs(households, bearer(token(data_dir))) == {}


async def test_json_array_and_ndjson_bodies_are_imported(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    array, lines = households_with_refs(2), households_with_refs(2)
    response = await households.post(
        "/imports/households",
        content=json.dumps(array),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["format"], counts(response.json())) == ("json", (2, 2, 0, 2, 0))
    ndjson = "\n".join(json.dumps(h) for h in lines) + "\n"
    response = await households.post(
        "/imports/households",
        content=ndjson,
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["format"], counts(response.json())) == ("ndjson", (2, 2, 0, 2, 0))
    assert len(await registered_refs(households, headers)) == 4


async def test_json_errors_name_the_element_and_field_path(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    array = households_with_refs(3)
    array[1]["members"][0]["sex"] = "unknown"
    del array[2]["household_ref"]
    headers = {**bearer(token(data_dir)), "Content-Type": "application/json"}
    response = await households.post(
        "/imports/households", content=json.dumps(array), headers=headers
    )
    assert response.status_code == 422, response.text
    assert [(e["line"], e["field"]) for e in response.json()["report"]["errors"]] == [
        (1, "members.0.sex"),
        (2, "household_ref"),
    ]


@pytest.fixture
async def limited_households(
    tmp_path: Path, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The app (on SQLite) with small body limits: 1 kB for the API, 20 kB for imports."""
    settings = households_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'limited.db'}",
        topics,
        data_dir,
        max_body_bytes=1_000,
        max_import_bytes=20_000,
    )
    async with running_app(create(settings)) as client:
        yield client


async def test_a_file_over_the_import_limit_is_refused_with_413(
    limited_households: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = {**bearer(token(data_dir)), "Content-Type": "text/csv"}
    small = as_csv(households_with_refs(4))
    assert 1_000 < len(small) < 20_000
    accepted = await limited_households.post("/imports/households", content=small, headers=headers)
    assert accepted.status_code == 200, accepted.text

    large = as_csv(households_with_refs(80))
    assert len(large) > 20_000
    refused = await limited_households.post("/imports/households", content=large, headers=headers)
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(large), 4096):
            yield large[start : start + 4096]

    streamed = await limited_households.post(
        "/imports/households", content=chunked(), headers=headers
    )
    assert streamed.status_code == 413
    plain = await limited_households.post(
        "/imports/households", content=small, headers={**headers, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 415
    assert len(await registered_refs(limited_households, bearer(token(data_dir)))) == 4


async def test_csv_rows_of_one_household_must_be_consecutive_and_agree(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    a, b = households_with_refs(2, members=2)  # lines 2-3 and 4-5

    def one_more_row(household: dict[str, Any], relation: str, **changes: str) -> bytes:
        person = factories.person(relation=relation, year=2015)
        return as_csv([{**household, **changes, "members": [person]}]).split(b"\r\n")[1] + b"\r\n"

    content = (
        as_csv([a, b]) + one_more_row(b, "child", village="Ấp Khác") + one_more_row(a, "head")
    )  # a valid household on its own, but a's ref again
    response = await import_csv(households, bearer(token(data_dir)), content)
    assert response.status_code == 422, response.text
    errors = response.json()["report"]["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(6, "village"), (7, "household_ref")]
    assert errors[0]["message"] == "differs from the household's first row, line 4"
    assert "must be grouped by household_ref" in errors[1]["message"]


async def test_an_import_restricted_to_a_commune_rejects_the_others(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    rows = households_with_refs(1, commune=factories.COMMUNE_AN_CU)
    response = await import_csv(
        households, bearer(token(data_dir)), as_csv(rows), commune_code=factories.COMMUNE_NHON_HUNG
    )
    assert response.status_code == 422, response.text
    assert response.json()["report"]["errors"] == [
        {
            "line": 2,
            "field": "commune_code",
            "message": f"this import is restricted to commune {factories.COMMUNE_NHON_HUNG}",
        }
    ]
    header_only = b"household_ref,commune_code\n"
    response = await import_csv(households, bearer(token(data_dir)), header_only)
    assert response.status_code == 422
    assert response.json()["report"]["errors"][0]["line"] == 1
    assert "missing columns: village" in response.json()["report"]["errors"][0]["message"]
