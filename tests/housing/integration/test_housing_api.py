"""Housing over HTTP with households events fed through the real broker: escape keeps the
right, the ranked list and quota, posting before approval, redelivery, bad input, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from services.housing.models import Application, ClassChange, Loan, platform
from shared.db import create_engine
from shared.events import topic_for
from tests.housing.integration.fixtures import (
    COMMUNE,
    OTHER_COMMUNE,
    HouseholdsFeed,
    admin,
    application,
    households_feed,
    housing_officer,
    running_housing,
    wait_listed,
)
from tests.support import bearer, read_events, token

pytestmark = pytest.mark.integration


@pytest.fixture
async def housing(
    database_url: str, topics: str, data_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_housing(
        database_url, topics, data_dir, commune_quotas={COMMUNE: 2}
    ) as client:
        yield client


@pytest.fixture
async def feed(topics: str) -> AsyncIterator[HouseholdsFeed]:
    async with households_feed(topics) as publisher:
        yield publisher


async def poor_household(
    feed: HouseholdsFeed, housing: httpx.AsyncClient, data_dir: Path, commune: str = COMMUNE
) -> str:
    household_id = await feed.registered(commune=commune)
    await feed.reclassified(household_id, "poor", "2019-01-10", commune=commune)
    await wait_listed(housing, data_dir, household_id, "2019-06-03", "poor")
    return household_id


async def count_rows(database_url: str, model: object, *criteria: object) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(model)  # type: ignore[arg-type]
            for criterion in criteria:
                query = query.where(criterion)  # type: ignore[arg-type]
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def test_a_household_that_escapes_after_applying_keeps_its_right(
    housing: httpx.AsyncClient, feed: HouseholdsFeed, data_dir: Path, topics: str
) -> None:
    officer = housing_officer(data_dir)
    keeps = await poor_household(feed, housing, data_dir)
    late = await poor_household(feed, housing, data_dir)
    applied = await housing.post("/applications", json=application(keeps), headers=officer)
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "eligible"
    # Both leave poverty on 10 June; `late` only applies afterwards.
    for household_id in (keeps, late):
        await feed.reclassified(
            household_id, "not_poor", "2019-06-10", from_class="poor", basis="voluntary_escape"
        )
        await wait_listed(housing, data_dir, household_id, "2019-06-12", "not_poor", "not_poor")
    refused = await housing.post(
        "/applications", json=application(late, applied_on="2019-06-12"), headers=officer
    )
    assert refused.json()["status"] == "refused"
    assert refused.json()["failed_rules"] == ["on_poor_list"]

    posted = await housing.post(
        f"/communes/{COMMUNE}/approval-lists", json={"posted_on": "2019-06-17"}, headers=officer
    )
    assert [e["household_id"] for e in posted.json()["entries"]] == [keeps]
    approved = await housing.post(
        f"/approval-lists/{posted.json()['list_id']}/approval",
        json={"approved_on": "2019-06-24"},
        headers=officer,
    )
    assert approved.json()["entries"][0]["outcome"] == "approved"
    loan_id = (
        await housing.get(f"/applications/{applied.json()['application_id']}", headers=officer)
    ).json()["loan_id"]
    disbursed = await housing.post(
        f"/loans/{loan_id}/disbursement", json={"disbursed_on": "2019-07-01"}, headers=officer
    )
    assert disbursed.status_code == 200, disbursed.text
    assert disbursed.json()["schedule"]["total_interest"] == 4_125_000

    refusal = await read_events(
        topics,
        topic_for("housing"),
        count=1,
        predicate=lambda e: (
            e.type.endswith("housing_refused.v1") and e.data["household_id"] == late
        ),
    )
    assert refusal[0].data["failed_rules"] == ["on_poor_list"]


async def test_the_list_is_ranked_posted_then_approved_within_the_quota(
    housing: httpx.AsyncClient,
    feed: HouseholdsFeed,
    data_dir: Path,
    topics: str,
    database_url: str,
) -> None:
    officer = housing_officer(data_dir)
    others, minority, elderly = [await poor_household(feed, housing, data_dir) for _ in range(3)]
    for household_id, priority in (
        (others, {}),
        (minority, {"ethnic_minority": True}),
        (elderly, {"elderly_lone_or_disabled": True, "ethnic_minority": True}),
    ):
        response = await housing.post(
            "/applications", headers=officer, json=application(household_id, priority=priority)
        )
        assert response.status_code == 201, response.text
    posted = await housing.post(
        f"/communes/{COMMUNE}/approval-lists", json={"posted_on": "2019-06-06"}, headers=officer
    )
    assert posted.status_code == 201, posted.text
    listing = posted.json()
    assert listing["posting_ends_on"] == "2019-06-10"  # Thu, Fri, (weekend), Mon
    assert [(e["household_id"], e["rank"], e["priority_group"]) for e in listing["entries"]] == [
        (elderly, 1, 1),
        (minority, 2, 2),
        (others, 3, 7),
    ]

    too_early = await housing.post(
        f"/approval-lists/{listing['list_id']}/approval",
        json={"approved_on": "2019-06-10"},
        headers=officer,
    )
    assert too_early.status_code == 422
    assert too_early.json()["errors"][0]["field"] == "body.approved_on"
    assert "approve from 2019-06-11" in too_early.json()["detail"]
    unchanged = (await housing.get(f"/approval-lists/{listing['list_id']}", headers=officer)).json()
    assert unchanged["status"] == "posted" and unchanged["approved_on"] is None
    assert await count_rows(database_url, Loan) == 0

    approved = await housing.post(
        f"/approval-lists/{listing['list_id']}/approval",
        json={"approved_on": "2019-06-11"},
        headers=officer,
    )
    assert approved.status_code == 200, approved.text
    assert [e["outcome"] for e in approved.json()["entries"]] == [
        "approved",
        "approved",
        "beyond_quota",
    ]
    waiting = await housing.get(
        f"/applications?commune_code={COMMUNE}&status=eligible", headers=officer
    )
    assert [a["household_id"] for a in waiting.json()] == [others]

    events = await read_events(
        topics,
        topic_for("housing"),
        count=3,
        predicate=lambda e: e.data.get("list_id") == listing["list_id"],
    )
    kinds = sorted(e.type.split(".")[3] for e in events)
    assert kinds == ["housing_approved", "housing_approved", "housing_list_posted"]
    posting = next(e for e in events if e.type.endswith("housing_list_posted.v1"))
    assert posting.data["required_working_days"] == 3 and posting.data["quota"] == 2


async def test_a_redelivered_event_is_applied_once(
    housing: httpx.AsyncClient, feed: HouseholdsFeed, data_dir: Path, database_url: str
) -> None:
    household_id = await feed.registered()
    poor = await feed.reclassified(household_id, "poor", "2019-01-10")
    await feed.resend(poor)  # the same CloudEvent (same ce_id) delivered again
    await feed.reclassified(household_id, "near_poor", "2019-03-01", from_class="poor")
    # Same key, same partition: once near_poor shows, both copies of `poor` were consumed.
    await wait_listed(housing, data_dir, household_id, "2019-06-03", "near_poor")
    assert (
        await count_rows(database_url, ClassChange, ClassChange.household_id == household_id) == 2
    )
    inbox = platform.inbox
    assert await count_rows(database_url, inbox, inbox.c.event_id == poor.id) == 1


async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    housing: httpx.AsyncClient, feed: HouseholdsFeed, data_dir: Path, database_url: str
) -> None:
    officer = housing_officer(data_dir)
    household_id = await poor_household(feed, housing, data_dir)
    cases = [
        (application(household_id, amount_requested=25_000_001), "body.amount_requested"),
        (application(household_id, amount_requested=0), "body.amount_requested"),
        (application(household_id, house_condition="palace"), "body.house_condition"),
        (application(household_id, applied_on="2014-05-01"), "body.applied_on"),
        (application(household_id, applied_on="2999-01-01"), "body.applied_on"),
        (application(household_id, priority={"veteran": True}), "body.priority.veteran"),
        (application(household_id, colour="red"), "body.colour"),
        (application("not-a-uuid"), "body.household_id"),
    ]
    for body, field in cases:
        response = await housing.post("/applications", json=body, headers=officer)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    no_list = await housing.post(
        f"/communes/{COMMUNE}/approval-lists", json={"posted_on": "2019-06-06"}, headers=officer
    )
    assert no_list.status_code == 422
    assert no_list.json()["errors"][0]["field"] == "body.posted_on"
    preview = "/loan-schedule?disbursed_on=2019-07-01&amount="
    over_cap = await housing.get(preview + "25000001", headers=officer)
    assert over_cap.json()["errors"][0]["field"] == "query.amount"
    assert await count_rows(database_url, Application) == 0
    assert await count_rows(database_url, platform.outbox) == 0
    # The same preview within the cap shows the exact schedule and records nothing either.
    schedule = (await housing.get(preview + "25000000", headers=officer)).json()
    assert schedule["total_interest"] == 4_125_000
    assert schedule["instalments"][0]["due_on"] == "2025-07-01"


async def test_callers_need_a_token_and_the_right_scope(
    housing: httpx.AsyncClient, feed: HouseholdsFeed, data_dir: Path
) -> None:
    household_id = await poor_household(feed, housing, data_dir)
    body = application(household_id)
    assert (await housing.post("/applications", json=body)).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await housing.post("/applications", json=body, headers=bad)).status_code == 401
    forbidden = [
        bearer(token(data_dir, "inspector")),
        bearer(token(data_dir, "partner")),
        housing_officer(data_dir, OTHER_COMMUNE),
        bearer(token(data_dir, "operator", services=("households",), communes=(COMMUNE,))),
    ]
    for headers in forbidden:
        response = await housing.post("/applications", json=body, headers=headers)
        assert response.status_code == 403, response.text
    created = await housing.post("/applications", json=body, headers=housing_officer(data_dir))
    assert created.status_code == 201
    path = f"/applications/{created.json()['application_id']}"
    assert (
        await housing.get(path, headers=housing_officer(data_dir, OTHER_COMMUNE))
    ).status_code == 403
    assert (
        await housing.get(path, headers=bearer(token(data_dir, "inspector")))
    ).status_code == 200
    assert (await housing.get(path, headers=admin(data_dir))).status_code == 200
    again = await housing.post("/applications", json=body, headers=housing_officer(data_dir))
    assert again.status_code == 409
