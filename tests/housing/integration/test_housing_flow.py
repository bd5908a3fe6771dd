"""End to end through the real broker: the real households app recognises a poor household in
its periodic review; housing hears it, lends, is repaid and sees the house built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from services.households.app import create as create_households
from services.households.settings import HouseholdsSettings
from shared.events import topic_for
from tests import factories
from tests.housing.integration.fixtures import (
    COMMUNE,
    admin,
    application,
    housing_officer,
    running_housing,
    wait_listed,
)
from tests.support import read_events, running_app

pytestmark = pytest.mark.integration


async def register(households: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    body = factories.household(commune=COMMUNE) | {"registered_on": "2018-01-15"}
    response = await households.post("/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json() | {"members": body["members"]}  # as sent: names and citizen IDs


async def recognise_as_poor(
    households: httpx.AsyncClient, headers: dict[str, str], household_id: str
) -> None:
    """The 2018 periodic review: list, survey, village meeting, public posting, recognition."""
    review = await households.post(
        "/reviews",
        headers=headers,
        json={
            "commune_code": COMMUNE,
            "village": "Ấp Hòa Thuận",
            "year": 2018,
            "opened_on": "2018-10-01",
            "household_ids": [household_id],
        },
    )
    assert review.status_code == 201, review.text
    review_id = review.json()["review_id"]
    steps = [
        (
            f"/households/{household_id}/assessments",
            {
                "assessed_on": "2018-10-05",
                "income_per_person_month": 500_000,
                "deprived_indicators": [],
                "review_id": review_id,
            },
        ),
        (
            f"/reviews/{review_id}/meetings",
            {
                "held_on": "2018-10-15",
                "invited_households": 10,
                "attendees": 8,
                "agreeing": 7,
                "chaired_by_village_head": True,
                "supervised_by_fatherland_front": True,
                "minutes": "Biên bản họp thôn",
            },
        ),
        (f"/reviews/{review_id}/posting", {"posted_on": "2018-10-22"}),
        (f"/reviews/{review_id}/recognition", {"recognised_on": "2018-10-26"}),
    ]
    for path, body in steps:
        response = await households.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), (path, response.text)


async def test_a_household_recognised_poor_borrows_and_builds(
    database_url: str, topics: str, data_dir: Path, tmp_path: Path
) -> None:
    households_settings = HouseholdsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'households.db'}",
        kafka_bootstrap_servers=topics,
        data_dir=data_dir,
        relay_poll_seconds=0.2,
        kafka_session_timeout_ms=2000,
        log_level="WARNING",
    )
    async with (
        running_app(create_households(households_settings)) as households,
        running_housing(database_url, topics, data_dir) as housing,
    ):
        registrar = admin(data_dir)
        poor = await register(households, registrar)
        never_poor = await register(households, registrar)
        await recognise_as_poor(households, registrar, poor["household_id"])
        await wait_listed(housing, data_dir, poor["household_id"], "2019-06-03", "poor")
        await wait_listed(housing, data_dir, never_poor["household_id"], "2019-06-03", None)

        officer = housing_officer(data_dir)
        refused = await housing.post(
            "/applications", json=application(never_poor["household_id"]), headers=officer
        )
        assert refused.status_code == 201, refused.text
        assert refused.json()["status"] == "refused"
        assert refused.json()["failed_rules"] == ["on_poor_list"]

        applied = await housing.post(
            "/applications",
            headers=officer,
            json=application(poor["household_id"], priority={"ethnic_minority": True}),
        )
        assert applied.json()["status"] == "eligible", applied.text
        application_id = applied.json()["application_id"]
        listing = (
            await housing.post(
                f"/communes/{COMMUNE}/approval-lists",
                json={"posted_on": "2019-06-06"},
                headers=officer,
            )
        ).json()
        approval = await housing.post(
            f"/approval-lists/{listing['list_id']}/approval",
            json={"approved_on": "2019-06-11"},
            headers=officer,
        )
        assert approval.status_code == 200, approval.text
        loan_id = (await housing.get(f"/applications/{application_id}", headers=officer)).json()[
            "loan_id"
        ]

        await repay_the_first_instalment(housing, officer, loan_id)
        await build_the_house(housing, officer, application_id)

        events = await read_events(
            topics, topic_for("housing"), count=5, predicate=lambda e: e.subject == application_id
        )
        assert [e.type.split(".")[3] for e in events] == [
            "housing_applied",
            "housing_approved",
            "loan_disbursed",
            "loan_repaid",
            "construction_completed",
        ]
        wire = " ".join(str(e.data) for e in events)
        for member in poor["members"]:  # no personal data leaves the service
            assert member["full_name"] not in wire and member["citizen_id"] not in wire


async def repay_the_first_instalment(
    housing: httpx.AsyncClient, officer: dict[str, str], loan_id: str
) -> None:
    disbursed = await housing.post(
        f"/loans/{loan_id}/disbursement", json={"disbursed_on": "2019-07-01"}, headers=officer
    )
    assert disbursed.status_code == 200, disbursed.text
    first = disbursed.json()["schedule"]["instalments"][0]
    assert (first["due_on"], first["principal"], first["interest"]) == (
        "2025-07-01",
        2_500_000,
        750_000,
    )

    late = (await housing.get(f"/loans/{loan_id}?as_of=2025-07-31", headers=officer)).json()
    assert (late["status"], late["days_overdue"], late["overdue_principal"]) == (
        "overdue",
        30,
        2_500_000,
    )
    # 2,500,000 × (130% × 3%) × 30 / 365 = 8,013.69… đồng, rounded down.
    assert late["overdue_interest_unpaid"] == 8_013

    too_much = await housing.post(
        f"/loans/{loan_id}/repayments",
        headers=officer,
        json={"paid_on": "2025-07-31", "amount": 30_000_000},
    )
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "body.amount"
    repaid = await housing.post(
        f"/loans/{loan_id}/repayments",
        headers=officer,
        json={"paid_on": "2025-07-31", "amount": 3_258_013},
    )
    assert repaid.status_code == 200, repaid.text
    assert repaid.json()["status"] == "current"
    assert repaid.json()["outstanding_principal"] == 22_500_000
    assert repaid.json()["repayments"] == [
        {
            "paid_on": "2025-07-31",
            "amount": 3_258_013,
            "overdue_interest": 8_013,
            "interest": 750_000,
            "principal": 2_500_000,
        }
    ]


async def build_the_house(
    housing: httpx.AsyncClient, officer: dict[str, str], application_id: str
) -> None:
    path = f"/applications/{application_id}/construction"
    early = await housing.post(
        path, json={"stage": "completed", "on": "2019-09-01"}, headers=officer
    )
    assert early.status_code == 409  # not started yet
    for stage, on in (
        ("started", "2019-07-05"),
        ("completed", "2019-10-01"),
        ("accepted", "2019-10-15"),
    ):
        response = await housing.post(path, json={"stage": stage, "on": on}, headers=officer)
        assert response.status_code == 200, response.text
    assert (await housing.get(path, headers=officer)).json() == {
        "application_id": application_id,
        "started_on": "2019-07-05",
        "completed_on": "2019-10-01",
        "accepted_on": "2019-10-15",
    }
