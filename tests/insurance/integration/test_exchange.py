"""Partner exchange with the social insurance agency: the issue list out, confirmations in
(CSV and JSON), matched by keyed pseudonym, every mismatch kept; bad rows reported by line."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.insurance.integration.fixtures import (
    HouseholdEvents,
    admin,
    insurance_app,
    new_commune,
    operator,
    publish,
    today,
    wait_for_person,
    years_ago,
)
from tests.support import bearer, token

pytestmark = pytest.mark.integration

HEADER = "citizen_pseudonym,person_id,card_number,valid_from,valid_to,issued_on"


def confirmation(pseudonym: str, number: str, person_id: str = "") -> str:
    start, end = today(), today() + timedelta(days=364)
    return f"{pseudonym},{person_id},{number},{start},{end},{start}"


async def upload(client: httpx.AsyncClient, headers: dict[str, str], *lines: str) -> Any:
    body = "\n".join([HEADER, *lines]) + "\n"
    return await client.post(
        "/imports/card-confirmations", content=body.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )  # fmt: skip


async def worklist(client: httpx.AsyncClient, data_dir: Path, name: str, commune: str) -> Any:
    response = await client.get(
        f"/worklists/{name}", params={"commune_code": commune}, headers=admin(data_dir)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_issue_list_out_and_confirmations_in(
    database_url: str, topics: str, data_dir: Path
) -> None:
    commune = new_commune()
    poor, other = HouseholdEvents(commune), HouseholdEvents(commune)
    a, a_pseudonym, a_added = poor.person(years_ago(40))
    b, b_pseudonym, b_added = poor.person(years_ago(38))
    d, d_pseudonym, d_added = poor.person(years_ago(60))
    c, c_pseudonym, c_added = other.person(years_ago(35))  # an unclassified household
    async with insurance_app(database_url, topics, data_dir) as client:
        await publish(topics, poor.registered(), a_added, b_added, d_added, other.registered(),
                      c_added, poor.reclassified("unclassified", "poor", today()))  # fmt: skip
        for person in (a, b, d):
            await wait_for_person(client, data_dir, person, lambda p: bool(p["entitlements"]))
        await wait_for_person(client, data_dir, c)
        local = await client.post(
            "/cards", json={"person_id": d, "social_insurance_number": "8911111114"},
            headers=admin(data_dir),
        )  # fmt: skip
        assert local.status_code == 201, local.text

        exported = await client.get(
            f"/communes/{commune}/issue-list.csv", headers=operator(data_dir, commune)
        )
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {r["person_id"]: r["citizen_pseudonym"] for r in rows} == {
            a: a_pseudonym, b: b_pseudonym,
        }  # fmt: skip
        assert {(r["object_code"], r["subsidy_percent"], r["policy_code"]) for r in rows} == {
            ("HN", "100", "ND-188-2025")
        }
        assert "full_name" not in rows[0]

        report = await upload(
            client, operator(data_dir, commune),
            confirmation(a_pseudonym, "HN2898911111111"),
            confirmation("hs256:" + "0" * 64, "HN2898911111112"),
            confirmation(c_pseudonym, "HN2898911111113"),
            confirmation(d_pseudonym, "BT2898911111114"),
            confirmation(b_pseudonym, "HN2898911111115", person_id=a),
        )  # fmt: skip
        assert report.status_code == 200, report.text
        body = report.json()
        assert (body["rows_read"], body["cards_recorded"], body["mismatch_count"]) == (5, 3, 4)
        kinds = {m["line"]: m["kind"] for m in body["mismatches"]}
        assert kinds == {3: "unknown_pseudonym", 4: "no_entitlement", 5: "duplicate_card",
                         6: "person_mismatch"}  # fmt: skip

        # Nothing was dropped: each mismatch is on a worklist or in the stored report.
        assert [i["person_id"] for i in (await worklist(client, data_dir, "uncarded", commune))
                ["items"]] == [b]  # fmt: skip
        to_revoke = await worklist(client, data_dir, "to-revoke", commune)
        assert [(i["card"]["person_id"], i["card"]["source"]) for i in to_revoke] == [
            (c, "partner")
        ]
        [doubled] = await worklist(client, data_dir, "duplicates", commune)
        assert doubled["person_id"] == d
        assert sorted((k["status"], k["card_number"]) for k in doubled["cards"]) == [
            ("active", "HN2898911111114"), ("duplicate", "BT2898911111114"),
        ]  # fmt: skip
        stored = await client.get(
            f"/imports/card-confirmations/{body['import_id']}", headers=admin(data_dir)
        )
        assert [m["line"] for m in stored.json()["mismatches"]] == [3, 4, 5, 6]

        again = (
            await upload(
                client, admin(data_dir),
                confirmation(a_pseudonym, "HN2898911111111"),
                confirmation(c_pseudonym, "HN2898911111113"),
            )
        ).json()  # fmt: skip
        assert (again["cards_recorded"], again["skipped_existing"]) == (0, 2)

        # Next year's card under the same number: the agency renewed A's card.
        later, last = today() + timedelta(days=365), today() + timedelta(days=729)
        renewal = (
            await upload(
                client, admin(data_dir),
                f"{a_pseudonym},{a},HN2898911111111,{later},{last},{today()}",
                f"{a_pseudonym},{a},HN2898911111111,{today() - timedelta(days=9)},{later},",
            )
        ).json()  # fmt: skip
        assert renewal["cards_recorded"] == 1
        assert [m["kind"] for m in renewal["mismatches"]] == ["validity_differs"]
        renewed = await wait_for_person(client, data_dir, a)
        assert sorted((k["status"], k["valid_from"]) for k in renewed["cards"]) == [
            ("active", str(later)), ("renewed", str(today())),
        ]  # fmt: skip

        duplicate_id = next(k["card_id"] for k in doubled["cards"] if k["status"] == "duplicate")
        resolved = await client.post(
            f"/cards/{duplicate_id}/revocation", json={"reason": "issued twice by VSS"},
            headers=operator(data_dir, commune),
        )  # fmt: skip
        assert resolved.json()["status"] == "revoked"
        assert await worklist(client, data_dir, "duplicates", commune) == []

        # The same confirmation as JSON (the event-free API).
        start, end = today(), today() + timedelta(days=364)
        as_json = await client.post(
            "/imports/card-confirmations", headers=admin(data_dir),
            json=[{"citizen_pseudonym": b_pseudonym, "person_id": b,
                   "card_number": "HN2898911111115", "valid_from": str(start),
                   "valid_to": str(end)}],
        )  # fmt: skip
        assert as_json.status_code == 200, as_json.text
        assert as_json.json()["cards_recorded"] == 1
        assert (await worklist(client, data_dir, "uncarded", commune))["items"] == []


async def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    database_url: str, topics: str, data_dir: Path
) -> None:
    commune = new_commune()
    household = HouseholdEvents(commune, poverty_class="poor")
    child, pseudonym, added = household.person(years_ago(2))
    async with insurance_app(database_url, topics, data_dir) as client:
        await publish(topics, household.registered(), added)
        await wait_for_person(client, data_dir, child, lambda p: bool(p["entitlements"]))
        start = today()
        response = await upload(
            client, admin(data_dir),
            f"{pseudonym},,TE189123,{start},{start},",
            f"{pseudonym},,TE1898922222222,not-a-date,{start},",
            f"{pseudonym},,TE1898922222222,{start},{start - timedelta(days=1)},",
            confirmation(pseudonym, "TE1898922222222"),
            f"{pseudonym},,TE1898922222222",
        )  # fmt: skip
        assert response.status_code == 422, response.text
        report = response.json()["report"]
        errors = {(e["line"], e["field"]) for e in report["errors"]}
        assert errors == {(2, "card_number"), (3, "valid_from"), (4, None), (6, None)}
        assert (report["rows_read"], report["rejected"], report["imported"]) == (5, 4, 0)
        view = await wait_for_person(client, data_dir, child)
        assert view["cards"] == []

        wrong_header = await client.post(
            "/imports/card-confirmations", content=b"pseudonym,card\nx,y\n",
            headers={**admin(data_dir), "Content-Type": "text/csv"},
        )  # fmt: skip
        assert wrong_header.status_code == 422
        assert wrong_header.json()["report"]["errors"][0]["line"] == 1

        for role in ("inspector", "partner"):
            refused = await upload(
                client, bearer(token(data_dir, role)), confirmation(pseudonym, "TE1898922222222")
            )
            assert refused.status_code == 403, role
        assert (
            await upload(client, {}, confirmation(pseudonym, "TE1898922222222"))
        ).status_code == 401
