"""Bulk import of surveys (``POST /imports/assessments``) through the real app, database and
broker, checked against what ``POST /households/{id}/assessments`` records for the same input."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.district.generator import ASSESSMENT_COLUMNS
from services.households.commands.assessment_import import CSV_COLUMNS
from shared.events import topic_for
from tests import factories
from tests.support import bearer, read_events, token

pytestmark = pytest.mark.integration

ASSESSED = "vn.ansinh.households.household_assessed.v1"
#: Survey inputs under Decree 07/2021 (rural line 1,500,000 VND).
SURVEYS: list[dict[str, Any]] = [
    {
        "assessed_on": "2024-09-10",
        "income_per_person_month": 1_000_000,
        "deprived_indicators": ["employment", "nutrition", "water"],
    },  # poor
    {
        "assessed_on": "2024-09-11",
        "income_per_person_month": 1_200_000,
        "deprived_indicators": ["water"],
        "standard_code": "ND-07-2021",
    },  # near poor
    {
        "assessed_on": "2024-09-12",
        "income_per_person_month": 2_600_000,
        "recorded_class": "near_poor",
        "override_reason": "village list",
    },  # an override
]
COMPARED = (
    "standard_code",
    "area",
    "income_per_person_month",
    "indicators_assessed",
    "deprived_indicators",
    "computed_class",
    "recorded_class",
    "override_reason",
    "reasons",
    "assessed_on",
)


async def call(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    method: str,
    url: str,
    expect: int,
    **body: Any,
) -> Any:
    response = await client.request(method, url, json=body or None, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


async def register(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    count: int,
    *,
    commune: str = factories.COMMUNE_NHON_HUNG,
) -> list[dict[str, Any]]:
    """``count`` households, each with an external_ref; their HouseholdOut."""
    return [
        await call(
            client,
            headers,
            "POST",
            "/households",
            201,
            **factories.household(commune=commune, members=2),
            external_ref=f"hh-{uuid.uuid4().hex[:12]}",
        )
        for _ in range(count)
    ]


def as_csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        indicators = row.get("deprived_indicators")
        writer.writerow({**row, "deprived_indicators": ";".join(indicators or [])})
    return out.getvalue().encode()


async def import_file(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, media_type: str = "text/csv"
) -> httpx.Response:
    return await client.post(
        "/imports/assessments", content=content, headers={**headers, "Content-Type": media_type}
    )


def counts(report: dict[str, Any]) -> tuple[int, ...]:
    return tuple(
        report[k] for k in ("rows_read", "accepted", "rejected", "imported", "skipped_existing")
    )


async def assessments_of(
    client: httpx.AsyncClient, headers: dict[str, str], household_id: str
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await call(
        client, headers, "GET", f"/households/{household_id}/assessments", 200
    )
    return found


async def test_imported_surveys_are_what_the_single_endpoint_records_with_its_events(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    twins = await register(households, headers, 3)
    imported = await register(households, headers, 3)
    review = await call(
        households,
        headers,
        "POST",
        "/reviews",
        201,
        commune_code=factories.COMMUNE_NHON_HUNG,
        village="Ấp Hòa Thuận",
        year=2024,
        opened_on="2024-09-03",
        household_ids=[h["household_id"] for h in twins + imported],
    )
    assert review["stage"] == "listing"
    for twin, survey in zip(twins, SURVEYS, strict=True):
        await call(
            households,
            headers,
            "POST",
            f"/households/{twin['household_id']}/assessments",
            201,
            **survey,
            review_id=review["review_id"],
        )
    # The households by id and by ref, with and without an assessment_ref.
    rows = [
        {
            **survey,
            "review_id": review["review_id"],
            **(
                {"household_ref": h["external_ref"]}
                if i % 2
                else {"household_id": h["household_id"], "assessment_ref": f"survey-{uuid.uuid4()}"}
            ),
        }
        for i, (h, survey) in enumerate(zip(imported, SURVEYS, strict=True))
    ]
    response = await import_file(households, headers, as_csv(CSV_COLUMNS, rows))
    assert response.status_code == 200, response.text
    assert counts(response.json()) == (3, 3, 0, 3, 0)
    assert (response.json()["unit"], response.json()["errors"]) == ("assessment", [])

    for twin, household in zip(twins, imported, strict=True):
        [single] = await assessments_of(households, headers, twin["household_id"])
        [bulk] = await assessments_of(households, headers, household["household_id"])
        assert {k: bulk[k] for k in COMPARED} == {k: single[k] for k in COMPARED}
        assert bulk["review_id"] == review["review_id"]
    classes = [(await assessments_of(households, headers, h["household_id"]))[0] for h in imported]
    assert [(a["computed_class"], a["recorded_class"]) for a in classes] == [
        ("poor", "poor"),
        ("near_poor", "near_poor"),
        ("not_poor", "near_poor"),
    ]

    ids = {h["household_id"] for h in imported}
    events = await read_events(
        topics,
        topic_for("households"),
        count=3,
        predicate=lambda e: e.subject in ids and e.type == ASSESSED,
    )
    assert sorted(e.data["assessment_id"] for e in events) == sorted(
        a["assessment_id"] for a in classes
    )
    reviewed = await call(households, headers, "GET", f"/reviews/{review['review_id']}", 200)
    assert reviewed["stage"] == "surveying"
    assert sum(1 for h in reviewed["households"] if h["assessment_id"]) == 6


async def test_the_generators_file_imports_as_is_and_a_rerun_applies_nothing_twice(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    registered = await register(households, headers, 3)
    rows = [
        {
            "household_ref": h["external_ref"],
            **{k: survey.get(k) for k in ASSESSMENT_COLUMNS if k in survey},
            "standard_code": "ND-07-2021",
        }
        for h, survey in zip(registered, SURVEYS[:2] * 2, strict=False)
    ]
    content = as_csv(ASSESSMENT_COLUMNS, rows)
    first = await import_file(households, headers, content)
    assert first.status_code == 200, first.text
    assert counts(first.json()) == (3, 3, 0, 3, 0)
    again = await import_file(households, headers, content)
    assert again.status_code == 200, again.text
    assert counts(again.json()) == (3, 3, 0, 0, 3)

    for household in registered:
        assert len(await assessments_of(households, headers, household["household_id"])) == 1
    ids = {h["household_id"] for h in registered}
    events = await read_events(
        topics,
        topic_for("households"),
        count=4,
        timeout=5,
        predicate=lambda e: e.subject in ids and e.type == ASSESSED,
    )
    assert len(events) == 3


async def test_bad_rows_are_reported_by_line_and_field_and_nothing_is_recorded(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    headers = bearer(token(data_dir))
    [household] = await register(households, headers, 1)
    [elsewhere] = await register(households, headers, 1, commune=factories.COMMUNE_AN_CU)
    review = await call(
        households,
        headers,
        "POST",
        "/reviews",
        201,
        commune_code=factories.COMMUNE_AN_CU,
        village="Ấp Hòa Thuận",
        year=2024,
        opened_on="2024-09-03",
        household_ids=[elsewhere["household_id"]],
    )
    good = {"household_id": household["household_id"], **SURVEYS[0]}
    rows = [
        {**good, "household_id": str(uuid.uuid4())},  # line 2
        {**good, "deprived_indicators": ["employment", "flying_car"]},  # 3
        {**good, "recorded_class": "poor"},  # 4: no override_reason
        {**good, "review_id": review["review_id"]},  # 5: a review of another commune
        {**good, "income_per_person_month": "about a million"},  # 6
        good,  # 7
        good,  # 8: the same household and day again
        {**good, "household_ref": household["external_ref"]},  # 9: both keys
    ]
    response = await import_file(households, headers, as_csv(CSV_COLUMNS, rows))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    report = response.json()["report"]
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (2, "household_id"),
        (3, "deprived_indicators"),
        (4, "override_reason"),
        (5, "review_id"),
        (6, "income_per_person_month"),
        (8, "assessed_on"),
        (9, "household_id"),
    ]
    messages = [e["message"] for e in report["errors"]]
    assert messages[0] == "no household has this id"
    assert "flying_car" in messages[1]
    assert messages[2] == "override_reason is required when recorded_class is given"
    assert messages[3] == "review does not exist in the household's commune"
    assert messages[5].startswith("the same survey as line 7")
    assert counts(report) == (8, 1, 7, 0, 0)
    assert await assessments_of(households, headers, household["household_id"]) == []

    header = b"household_ref,assessed_on,income\n"
    response = await import_file(households, headers, header)
    assert response.status_code == 422
    [error] = response.json()["report"]["errors"]
    assert error["line"] == 1
    assert "missing columns: income_per_person_month; unknown columns: income" in error["message"]


async def test_rows_of_a_commune_outside_the_token_are_refused(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    admin = bearer(token(data_dir))
    [mine] = await register(households, admin, 1, commune=factories.COMMUNE_AN_CU)
    [other] = await register(households, admin, 1, commune=factories.COMMUNE_NHON_HUNG)
    operator = bearer(
        token(data_dir, "operator", services=("households",), communes=(factories.COMMUNE_AN_CU,))
    )
    ndjson = "\n".join(
        json.dumps({"household_id": h["household_id"], **SURVEYS[0]}) for h in (mine, other)
    ).encode()
    response = await import_file(households, operator, ndjson, "application/x-ndjson")
    assert response.status_code == 422, response.text
    assert response.json()["report"]["errors"] == [
        {
            "line": 2,
            "field": "household_id",
            "message": f"not authorised to import assessments of commune "
            f"{factories.COMMUNE_NHON_HUNG}",
        }
    ]
    assert await assessments_of(households, admin, mine["household_id"]) == []
    assert await assessments_of(households, admin, other["household_id"]) == []

    # As the single endpoint: the operator's own commune passes, other roles and services don't.
    mine_only = ndjson.split(b"\n")[0]
    response = await import_file(households, operator, mine_only, "application/x-ndjson")
    assert response.status_code == 200, response.text
    assert counts(response.json()) == (1, 1, 0, 1, 0)
    for role, services in (("inspector", ()), ("operator", ("employment",))):
        refused = bearer(
            token(data_dir, role, services=services, communes=(factories.COMMUNE_AN_CU,))
        )
        response = await import_file(households, refused, mine_only, "application/x-ndjson")
        assert response.status_code == 403, response.text
