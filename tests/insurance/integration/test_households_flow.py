"""End to end through the real broker and the real households app: a household falls into
poverty, its members become entitled and get cards, the agency's list carries personal
data read (and logged) through the households API, and when the household leaves poverty
the cards follow after the grace — no operator touches them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from services.households.app import create as create_households
from shared.events import topic_for
from tests import factories
from tests.insurance.integration.fixtures import (
    admin,
    event_names,
    events_about,
    insurance_app,
    new_commune,
    operator,
    served,
    today,
    wait_for_person,
)
from tests.support import households_settings, read_events

pytestmark = pytest.mark.integration
GRACE_DAYS = 30


def poor_entitlement(person: dict[str, object]) -> dict[str, object] | None:
    found = [e for e in person["entitlements"] if e["group"] == "poor_household"]  # type: ignore[attr-defined]
    return found[0] if found else None


async def fall_into_poverty(households: httpx.AsyncClient, household_id: str) -> None:
    """A regular review on application: surveyed poor, approved ten days ago."""
    day = today()
    application = await households.post("/applications", json={
        "household_id": household_id, "kind": "fall_into_poverty",
        "received_on": str(day - timedelta(days=20))})  # fmt: skip
    assert application.status_code == 201, application.text
    deprived = ["employment", "nutrition", "health_insurance", "water"]
    assessment = await households.post(f"/households/{household_id}/assessments", json={
        "assessed_on": str(day - timedelta(days=15)), "income_per_person_month": 500_000,
        "deprived_indicators": deprived})  # fmt: skip
    assert assessment.status_code == 201, assessment.text
    assert assessment.json()["recorded_class"] == "poor"
    decision = await households.post(
        f"/applications/{application.json()['application_id']}/decision",
        json={"decided_on": str(day - timedelta(days=10)), "outcome": "approved",
              "assessment_id": assessment.json()["assessment_id"]},
    )  # fmt: skip
    assert decision.status_code == 200, decision.text


async def test_reclassification_moves_entitlements_and_cards(
    database_url: str, topics: str, data_dir: Path, tmp_path: Path
) -> None:
    commune = new_commune()
    households_db = f"sqlite+aiosqlite:///{tmp_path / 'households.db'}"
    households_app = create_households(households_settings(households_db, topics, data_dir))
    async with served(households_app) as households_url:  # noqa: SIM117 - the URL comes first
        async with (
            httpx.AsyncClient(base_url=households_url, headers=admin(data_dir)) as households,
            insurance_app(
                database_url, topics, data_dir, households_api_url=households_url,
                household_exit_grace_days=GRACE_DAYS,
            ) as insurance,
        ):  # fmt: skip
            body = factories.household(commune=commune, members=3)
            registered = await households.post("/households", json=body)
            assert registered.status_code == 201, registered.text
            household_id = registered.json()["household_id"]
            head = registered.json()["members"][0]["person_id"]
            members = [m["person_id"] for m in registered.json()["members"]]
            known = await wait_for_person(insurance, data_dir, head)
            assert known["entitlements"] == [] and known["household_class"] == "unclassified"

            await fall_into_poverty(households, household_id)
            entitled = await wait_for_person(
                insurance, data_dir, head, lambda p: poor_entitlement(p) is not None
            )
            grant = poor_entitlement(entitled)
            assert grant is not None and grant["current"] is True
            assert grant["starts_on"] == str(today() - timedelta(days=10))

            # The list for the agency, with the personal data it needs, read from households.
            exported = await insurance.get(
                f"/communes/{commune}/issue-list.csv", params={"personal_data": "true"},
                headers=operator(data_dir, commune),
            )  # fmt: skip
            assert exported.status_code == 200, exported.text
            rows = {r["person_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
            assert set(rows) == set(members)
            assert rows[head]["full_name"] == body["members"][0]["full_name"]
            assert rows[head]["citizen_id"] == body["members"][0]["citizen_id"]
            reads = await read_events(
                topics, topic_for("households"), count=3,
                predicate=lambda e: e.type.endswith("personal_data_read.v1")
                and e.subject == household_id,
            )  # fmt: skip
            assert {e.data["person_id"] for e in reads} == set(members)
            assert {e.data["reader_subject"] for e in reads} == {"service:insurance"}

            card = await insurance.post(
                "/cards", json={"person_id": head, "social_insurance_number": "8933333333"},
                headers=operator(data_dir, commune),
            )  # fmt: skip
            assert card.status_code == 201, card.text

            # The household leaves poverty: cover (and the card) last for the grace.
            left = today() - timedelta(days=2)
            escape = await households.post(
                f"/households/{household_id}/escape-registrations",
                json={"registered_on": str(left)},
            )
            assert escape.status_code == 201, escape.text
            ending = await wait_for_person(
                insurance, data_dir, head,
                lambda p: (poor_entitlement(p) or {}).get("end_reason") is not None,
            )  # fmt: skip
            grace_end = left + timedelta(days=GRACE_DAYS)
            assert poor_entitlement(ending)["ends_on"] == str(grace_end)  # type: ignore[index]
            assert [c["status"] for c in ending["cards"]] == ["active"]
            to_revoke = await insurance.get(
                "/worklists/to-revoke", params={"commune_code": commune, "on": str(grace_end)},
                headers=admin(data_dir),
            )  # fmt: skip
            assert [i["card"]["person_id"] for i in to_revoke.json()] == [head]

            swept = await insurance.post(
                "/sweeps", params={"on": str(grace_end)}, headers=admin(data_dir)
            )
            assert swept.status_code == 200, swept.text
            after = await wait_for_person(insurance, data_dir, head)
            assert [c["status"] for c in after["cards"]] == ["revoked"]

    [reclassified] = await read_events(
        topics, topic_for("households"), count=1,
        predicate=lambda e: e.subject == household_id and e.data.get("to_class") == "not_poor",
    )  # fmt: skip
    events = await events_about(topics, head, lambda e: e.type.endswith("card_revoked.v1"))
    assert event_names(events) == [
        "entitlement_granted", "card_issued", "entitlement_ended", "card_revoked",
    ]  # fmt: skip
    assert events[2].data["ends_on"] == str(grace_end)
    assert events[2].data["caused_by_event_id"] == reclassified.id
    assert events[3].data["caused_by_event_id"] == reclassified.id
