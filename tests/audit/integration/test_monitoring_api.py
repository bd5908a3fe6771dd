"""The monitoring views and findings of the real audit app, fed through the real broker:
findings published on ansinh.audit.v1 and cleared, rebuild over HTTP, CSV, who may read."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.audit.app import create as create_audit
from services.households.app import create as create_households
from tests import factories
from tests.audit.integration import monitoring_fixtures as f
from tests.audit.integration.fixtures import audit_settings, eventually, publish
from tests.audit.integration.monitoring_fixtures import new_id
from tests.support import bearer, households_settings, read_events, running_app, token

pytestmark = pytest.mark.integration

CLOCK = date(2019, 12, 31)
AUDIT_TOPIC = "ansinh.audit.v1"


def settings(database_url: str, topics: str, data_dir: Path) -> Any:
    return audit_settings(
        database_url, topics, data_dir, clock_date=CLOCK, findings_interval_seconds=3600
    )


@pytest.fixture
async def audit(database_url: str, topics: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_audit(settings(database_url, topics, data_dir))) as client:
        yield client


async def get(client: httpx.AsyncClient, path: str, tok: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=bearer(tok))
    assert response.status_code == 200, response.text
    return response.json()


async def open_findings(client: httpx.AsyncClient, tok: str, commune: str) -> set[str]:
    page = await get(client, "/findings", tok, commune_code=commune)
    return {item["key"] for item in page["items"]}


async def views_json(client: httpx.AsyncClient, tok: str, commune: str) -> list[Any]:
    found = []
    for name in ("overview", "democracy", "fairness", "timeliness", "targets"):
        found.append(await get(client, f"/views/{name}", tok, year=2019, commune_code=commune))
    found.append(await get(client, "/findings", tok, commune_code=commune, status="all"))
    return found


async def test_findings_on_the_audit_topic_rebuild_and_csv(
    audit: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    c, review, person, kept, duplicate = f.test_commune(), new_id(), new_id(), new_id(), new_id()
    await publish(
        topics,
        f.recognised(c, review, on=date(2019, 10, 14)),  # no meeting, no posting
        f.entitled(c, person, new_id(), starts_on=date(2019, 1, 15)),
        f.card(c, person, kept, issued_on=date(2019, 2, 1)),
        f.card(
            c, person, duplicate, issued_on=date(2019, 6, 1), source="partner", duplicate_of=kept
        ),
    )
    inspector, admin = token(data_dir, "inspector"), token(data_dir, "admin")
    # One finding for the list: no meeting approved it, so it was never posted either.
    expected = {f"recognition_without_valid_meeting:{review}", f"duplicate_cards:{person}"}
    await eventually(lambda: _equals(open_findings(audit, inspector, c), expected))
    raised = await read_events(
        topics,
        AUDIT_TOPIC,
        count=2,
        predicate=lambda e: (
            e.type == "vn.ansinh.audit.finding_raised.v1" and e.subject in (review, person)
        ),
    )
    assert sorted(e.data["key"] for e in raised) == sorted(expected)
    duplicate_raised = next(e for e in raised if e.subject == person)
    assert duplicate_raised.data["commune_code"] == c
    assert len(duplicate_raised.data["evidence"]) == 2  # the two card_issued events

    await publish(topics, f.card_revoked(c, person, duplicate, on=date(2019, 12, 20)))
    await eventually(
        lambda: _equals(
            open_findings(audit, inspector, c), expected - {f"duplicate_cards:{person}"}
        )
    )
    cleared = await read_events(
        topics,
        AUDIT_TOPIC,
        count=1,
        predicate=lambda e: e.type == "vn.ansinh.audit.finding_cleared.v1" and e.subject == person,
    )
    assert cleared[0].data["finding_id"] == duplicate_raised.data["finding_id"]

    # The findings' own events come back onto the ledger (the trail of their subject) ...
    await eventually(lambda: _trail_has(audit, inspector, person, "finding_cleared"))
    before = await views_json(audit, inspector, c)
    response = await audit.post("/views/rebuild", headers=bearer(admin))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["findings_raised"], report["findings_cleared"]) == (0, 0)
    assert report["as_of"] == CLOCK.isoformat()
    # ... so the ledger alone rebuilds identical views.
    assert await views_json(audit, inspector, c) == before

    response = await audit.get(
        "/findings.csv", params={"commune_code": c, "status": "all"}, headers=bearer(inspector)
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {(r["key"], r["status"]) for r in rows} == {
        (f"recognition_without_valid_meeting:{review}", "open"),
        (f"duplicate_cards:{person}", "cleared"),
    }


async def _equals(probe: Any, expected: set[str]) -> bool:
    return bool(await probe == expected)


async def _trail_has(client: httpx.AsyncClient, tok: str, subject: str, name: str) -> bool:
    trail = await get(client, f"/trail/{subject}", tok)
    return any(i["type"] == f"vn.ansinh.audit.{name}.v1" for i in trail["items"])


async def test_who_may_read_the_views(
    audit: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    mine, other, review = f.test_commune(), f.test_commune(), new_id()
    await publish(
        topics,
        f.recognised(mine, review, on=date(2019, 10, 14)),
        f.recognised(other, new_id(), on=date(2019, 10, 14)),
    )
    operator = token(data_dir, "operator", services=("households",), communes=(mine,))
    inspector = token(data_dir, "inspector")
    for commune in (mine, other):
        await eventually(lambda commune=commune: _has_findings(audit, inspector, commune))
    assert (await audit.get("/views/overview", params={"year": 2019})).status_code == 401
    assert (await audit.get("/findings")).status_code == 401
    for path in ("/views/democracy", "/findings"):
        response = await audit.get(
            path, params={"year": 2019, "commune_code": other}, headers=bearer(operator)
        )
        assert response.status_code == 403, response.text
    page = await get(audit, "/findings", operator)  # no commune asked: theirs only
    assert {item["commune_code"] for item in page["items"]} == {mine}
    view = await get(audit, "/views/democracy", operator, year=2019)
    assert [row["commune_code"] for row in view["communes"]] == [mine]
    partner = token(data_dir, "partner")
    assert (await get(audit, "/views/fairness", partner, year=2019, commune_code=other))[
        "commune_code"
    ] == other
    for tok in (operator, inspector, partner):
        assert (await audit.post("/views/rebuild", headers=bearer(tok))).status_code == 403
        assert (await audit.post("/findings/evaluate", headers=bearer(tok))).status_code == 403
    response = await audit.post(
        "/findings/evaluate",
        params={"as_of": "2020-01-31"},
        headers=bearer(token(data_dir, "admin")),
    )
    assert response.status_code == 200 and response.json()["as_of"] == "2020-01-31"


async def _has_findings(client: httpx.AsyncClient, tok: str, commune: str) -> bool:
    return bool(await open_findings(client, tok, commune))


async def test_a_household_recorded_poor_above_the_line_in_the_households_service(
    database_url: str, topics: str, data_dir: Path, tmp_path: Path
) -> None:
    households_db = f"sqlite+aiosqlite:///{tmp_path / 'households.db'}"
    async with (
        running_app(create_households(households_settings(households_db, topics, data_dir))) as hh,
        running_app(create_audit(settings(database_url, topics, data_dir))) as audit,
    ):
        admin = token(data_dir)
        response = await hh.post("/households", json=factories.household(), headers=bearer(admin))
        assert response.status_code == 201, response.text
        household_id = response.json()["household_id"]
        response = await hh.post(
            f"/households/{household_id}/assessments",
            json={
                "assessed_on": "2019-10-01",
                "income_per_person_month": 1_200_000,
                "recorded_class": "poor",
                "override_reason": "village head insisted",
            },
            headers=bearer(admin),
        )
        assert response.status_code == 201, response.text
        inspector = token(data_dir, "inspector")
        key = f"misclassified_assessment:{household_id}"

        async def flagged() -> bool:
            page = await get(
                audit,
                "/findings",
                inspector,
                kind="misclassified_assessment",
                commune_code=factories.COMMUNE_NHON_HUNG,
                limit=1000,
            )
            return any(item["key"] == key for item in page["items"])

        await eventually(flagged)
        summary = await get(audit, f"/views/households/{household_id}", inspector)
        assert [
            (a["recorded_class"], a["expected_class"], a["misclassified"])
            for a in summary["assessments"]
        ] == [("poor", "other", True)]
        assert len(summary["members"]) == 3 and summary["current_class"] == "unclassified"
        assert "full_name" not in str(summary) and [f["key"] for f in summary["findings"]] == [key]
