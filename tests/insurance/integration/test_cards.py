"""Entitlements and cards of the insurance service, fed by households events on the real
broker, on SQLite and PostgreSQL: none missing, none duplicated, none in excess."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.db import create_engine
from shared.migrations import upgrade_to_head
from tests.insurance.integration.fixtures import (
    HouseholdEvents,
    admin,
    event_names,
    events_about,
    insurance_app,
    new_commune,
    operator,
    publish,
    today,
    wait_for_person,
    years_ago,
)
from tests.support import bearer, fresh_postgres_database, token

pytestmark = pytest.mark.integration


def current(person: dict[str, object], group: str) -> bool:
    return any(
        e["group"] == group and e["current"]
        for e in person["entitlements"]  # type: ignore[attr-defined]
    )


async def test_cards_follow_the_households_entitlements(
    database_url: str, topics: str, data_dir: Path
) -> None:
    commune = new_commune()
    household = HouseholdEvents(commune)
    child, _, child_added = household.person(years_ago(2))
    turning_six, _, turning_added = household.person(years_ago(6, days=-3))
    adult, _, adult_added = household.person(years_ago(30))
    async with insurance_app(database_url, topics, data_dir, service_standard_days=5) as client:
        await publish(topics, household.registered(), child_added, turning_added, adult_added)
        view = await wait_for_person(client, data_dir, child, lambda p: current(p, "child_under_6"))
        [grant] = view["entitlements"]
        assert grant["caused_by_event_id"] == child_added.id
        assert grant["ends_on"] == years_ago(-4).isoformat()  # the 6th birthday
        assert grant["subsidy_percent"] == 100
        await wait_for_person(client, data_dir, adult)

        # An adult of an unclassified household is not entitled: no card.
        refused = await client.post(
            "/cards", json={"person_id": adult, "social_insurance_number": "8900000001"},
            headers=admin(data_dir),
        )  # fmt: skip
        assert refused.status_code == 422, refused.text
        assert "no entitlement" in refused.json()["detail"]

        issued = await client.post(
            "/cards", json={"person_id": child, "social_insurance_number": "8900000002"},
            headers=operator(data_dir, commune),
        )  # fmt: skip
        assert issued.status_code == 201, issued.text
        card = issued.json()
        assert card["card_number"] == "TE1898900000002"
        assert (
            card["valid_to"] == (today().replace(year=today().year + 1) - timedelta(1)).isoformat()
        )
        second = await client.post("/cards", json={"person_id": child}, headers=admin(data_dir))
        assert second.status_code == 409, second.text
        assert card["card_id"] in second.json()["detail"]

        async def uncarded() -> dict[str, dict[str, object]]:
            worklist = await client.get(
                "/worklists/uncarded", params={"commune_code": commune}, headers=admin(data_dir)
            )
            return {item["person_id"]: item for item in worklist.json()["items"]}

        waiting = await uncarded()
        assert list(waiting) == [turning_six]
        assert waiting[turning_six]["waiting_since"] == today().isoformat()
        assert waiting[turning_six]["overdue"] is False

        # The household was recognised poor ten days ago: everyone without a card is overdue.
        effective = today() - timedelta(days=10)
        poor = household.reclassified("unclassified", "poor", effective)
        await publish(topics, poor)
        await wait_for_person(client, data_dir, adult, lambda p: current(p, "poor_household"))
        waiting = await uncarded()
        assert set(waiting) == {adult, turning_six}
        assert waiting[adult]["object_code"] == "HN"
        assert waiting[turning_six]["object_code"] == "TE"
        for item in waiting.values():
            assert item["waiting_since"] == effective.isoformat()
            assert item["due_on"] == (effective + timedelta(days=5)).isoformat()
            assert item["overdue"] is True

        # The child about to turn 6 gets a card that ends the day before the birthday.
        short = await client.post(
            "/cards", json={"person_id": turning_six, "social_insurance_number": "8900000003",
                            "valid_from": today().isoformat()},
            headers=admin(data_dir),
        )  # fmt: skip
        assert short.status_code == 201, short.text
        birthday = today() + timedelta(days=3)
        assert short.json()["valid_to"] == (birthday - timedelta(days=1)).isoformat()
        sweep = await client.post(
            "/sweeps", params={"on": birthday.isoformat()}, headers=admin(data_dir)
        )
        assert sweep.status_code == 200, sweep.text
        assert sweep.json()["entitlements_ended"] >= 1 and sweep.json()["cards_expired"] >= 1
        grown = await wait_for_person(client, data_dir, turning_six)
        assert [c["status"] for c in grown["cards"]] == ["expired"]
        # …yet a member of a poor household stays entitled: back on the worklist.
        assert current(grown, "poor_household")

        # The adult's card, renewed; then the household leaves poverty (no grace configured).
        adult_card = await client.post(
            "/cards", json={"person_id": adult, "social_insurance_number": "8900000004"},
            headers=admin(data_dir),
        )  # fmt: skip
        assert adult_card.json()["card_number"] == "HN2898900000004"
        renewed = await client.post(
            f"/cards/{adult_card.json()['card_id']}/renewal", json={}, headers=admin(data_dir)
        )
        assert renewed.status_code == 201, renewed.text
        escaped = household.reclassified("poor", "not_poor", today() - timedelta(days=1))
        await publish(topics, escaped)
        after = await wait_for_person(
            client, data_dir, adult, lambda p: all(c["status"] != "active" for c in p["cards"])
        )
        assert sorted(c["status"] for c in after["cards"]) == ["renewed", "revoked"]
        assert not current(after, "poor_household")
        # The child keeps its children's card: its own entitlement is unaffected.
        kept = await wait_for_person(client, data_dir, child)
        assert [c["status"] for c in kept["cards"]] == ["active"]

    events = await events_about(topics, adult, lambda e: e.type.endswith("card_revoked.v1"))
    assert event_names(events) == [
        "entitlement_granted", "card_issued", "card_renewed", "entitlement_ended", "card_revoked",
    ]  # fmt: skip
    assert events[0].data["caused_by_event_id"] == poor.id
    assert events[3].data["caused_by_event_id"] == escaped.id
    assert events[4].data["caused_by_event_id"] == escaped.id
    wire = " ".join(str(e.data) for e in events)
    assert "8900000004" not in wire  # card numbers carry the SI number: not on the wire


async def test_operator_recorded_groups_and_who_may_do_what(
    database_url: str, topics: str, data_dir: Path
) -> None:
    commune, elsewhere = new_commune(), new_commune()
    household = HouseholdEvents(commune)
    adult, _, added = household.person(years_ago(70))
    async with insurance_app(database_url, topics, data_dir) as client:
        await publish(topics, household.registered(), added)
        await wait_for_person(client, data_dir, adult)
        allowance = {"group": "social_protection_allowance", "starts_on": today().isoformat(),
                     "reason": "Decision 123/QĐ-UBND on the monthly allowance"}  # fmt: skip

        assert (
            await client.post(f"/persons/{adult}/entitlements", json=allowance)
        ).status_code == 401
        bad_token = {"Authorization": "Bearer not-a-token"}
        response = await client.get(f"/persons/{adult}", headers=bad_token)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        wrong_commune = await client.post(
            f"/persons/{adult}/entitlements", json=allowance, headers=operator(data_dir, elsewhere)
        )
        assert wrong_commune.status_code == 403
        inspector = bearer(token(data_dir, "inspector"))
        read_only = await client.post(
            f"/persons/{adult}/entitlements", json=allowance, headers=inspector
        )
        assert read_only.status_code == 403
        assert (await client.get(f"/persons/{adult}", headers=operator(data_dir, elsewhere))
                ).status_code == 403  # fmt: skip
        assert (
            await client.post("/sweeps", headers=operator(data_dir, commune))
        ).status_code == 403

        policies = (await client.get("/policies", headers=inspector)).json()
        assert [p["code"] for p in policies] == ["ND-146-2018", "ND-188-2025"]
        rules = (await client.get("/rules", headers=inspector)).json()
        assert (rules["household_exit_grace_days"], rules["service_standard_days"]) == (0, 30)

        not_minority = await client.post(
            f"/persons/{adult}/entitlements", headers=operator(data_dir, commune),
            json={**allowance, "group": "ethnic_minority_disadvantaged_area"},
        )  # fmt: skip
        assert not_minority.status_code == 422
        assert not_minority.json()["errors"][0]["field"] == "body.group"

        recorded = await client.post(
            f"/persons/{adult}/entitlements", json=allowance, headers=operator(data_dir, commune)
        )
        assert recorded.status_code == 201, recorded.text
        entitlement = recorded.json()
        assert (entitlement["source"], entitlement["recorded_by"]) == ("operator", "tester")
        assert entitlement["policy_code"] == "ND-188-2025"
        card = await client.post(
            "/cards", json={"person_id": adult, "social_insurance_number": "8900000101"},
            headers=operator(data_dir, commune),
        )  # fmt: skip
        assert card.json()["card_number"] == "BT2898900000101"
        partner_view = await client.get(
            f"/persons/{adult}", headers=bearer(token(data_dir, "partner"))
        )
        assert partner_view.status_code == 200
        assert partner_view.json()["cards"][0]["card_number"] is None

        ended = await client.post(
            f"/entitlements/{entitlement['entitlement_id']}/end",
            json={"ends_on": today().isoformat(), "reason": "allowance stopped"},
            headers=operator(data_dir, commune),
        )  # fmt: skip
        assert ended.status_code == 200, ended.text
        assert ended.json()["current"] is False
        view = await wait_for_person(client, data_dir, adult)
        assert [c["status"] for c in view["cards"]] == ["revoked"]
        assert "allowance stopped" in view["cards"][0]["end_reason"]


async def test_redelivered_event_is_applied_once(
    database_url: str, topics: str, data_dir: Path
) -> None:
    household = HouseholdEvents(new_commune())
    child, _, added = household.person(years_ago(1))
    poor = household.reclassified("unclassified", "poor", today())
    async with insurance_app(database_url, topics, data_dir) as client:
        # The same ce_id three times (Kafka redelivery), then an event about the same person.
        await publish(topics, household.registered(), added, added, added, poor)
        view = await wait_for_person(client, data_dir, child, lambda p: len(p["entitlements"]) == 2)
        assert sorted(e["group"] for e in view["entitlements"]) == [
            "child_under_6",
            "poor_household",
        ]
    events = await events_about(topics, child, lambda e: e.data.get("group") == "poor_household")
    assert event_names(events) == ["entitlement_granted", "entitlement_granted"]
    assert events[0].data["group"] == "child_under_6"


async def test_one_active_card_under_concurrent_issue_requests(
    topics: str, data_dir: Path, postgres_available: bool
) -> None:
    if not postgres_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not running and could not be started")
    household = HouseholdEvents(new_commune())
    child, _, added = household.person(years_ago(3))
    async with (
        fresh_postgres_database() as url,
        insurance_app(url, topics, data_dir) as client,
    ):
        await publish(topics, household.registered(), added)
        await wait_for_person(client, data_dir, child, lambda p: bool(p["entitlements"]))
        headers = admin(data_dir)
        responses = await asyncio.gather(*(
            client.post("/cards", headers=headers, json={
                "person_id": child, "social_insurance_number": f"89{n:08d}"})
            for n in range(12)
        ))  # fmt: skip
        codes = sorted(r.status_code for r in responses)
        assert codes == [201] + [409] * 11, [r.text for r in responses]
        view = await wait_for_person(client, data_dir, child)
        assert [c["status"] for c in view["cards"]] == ["active"]


async def test_the_database_itself_refuses_a_second_active_card(database_url: str) -> None:
    await upgrade_to_head("insurance", database_url)
    engine = create_engine(database_url)
    person, today_ = str(uuid.uuid4()), today()
    card = (
        "INSERT INTO cards (id, person_id, commune_code, card_number, object_code, "
        "benefit_level, province_code, valid_from, valid_to, issued_on, status, source) "
        "VALUES (:id, :person, '30511', :number, 'HN', 2, '89', :day, :day, :day, :status, "
        "'partner')"
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO persons (id, household_id, commune_code, sex, date_of_birth, "
                "ethnic_minority, added_event_id) VALUES (:id, 'h', '30511', 'male', :day, "
                "false, 'e')"), {"id": person, "day": today_})  # fmt: skip
            for status in ("active", "revoked", "duplicate"):
                await conn.execute(text(card), {"id": str(uuid.uuid4()), "person": person,
                                                "number": "HN2890000000001", "day": today_,
                                                "status": status})  # fmt: skip
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text(card), {"id": str(uuid.uuid4()), "person": person,
                                                "number": "CN3890000000001", "day": today_,
                                                "status": "active"})  # fmt: skip
    finally:
        await engine.dispose()
