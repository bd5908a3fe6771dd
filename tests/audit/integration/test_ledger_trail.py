"""The audit service records every event once and proves it: trail, proofs, heads, export."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.audit.app import create as create_audit
from services.households.app import create as create_households
from shared.ledger import merkle
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.signing import LedgerPublicKey
from tests import factories
from tests.audit.integration.fixtures import (
    audit_settings,
    cloud_event,
    eventually,
    publish,
)
from tests.support import REPO_ROOT, bearer, households_settings, running_app, token

pytestmark = pytest.mark.integration


@pytest.fixture
async def audit(database_url: str, topics: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real audit app (its database, ledger consumer, tree heads) on the real broker."""
    async with running_app(create_audit(audit_settings(database_url, topics, data_dir))) as client:
        yield client


COMMUNE = factories.COMMUNE_NHON_HUNG


async def trail_of(client: httpx.AsyncClient, subject: str, tok: str) -> list[dict[str, Any]]:
    response = await client.get(f"/trail/{subject}", headers=bearer(tok))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def signed_head_covering(client: httpx.AsyncClient, size: int, tok: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await client.get("/ledger/tree-heads/latest", headers=bearer(tok))
        head: dict[str, Any] = response.json()
        return head if response.status_code == 200 and head["tree_size"] >= size else None

    return await eventually(probe)


async def test_every_event_is_recorded_once_and_proven(
    audit: httpx.AsyncClient,
    topics: str,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    inspector = token(data_dir, "inspector")
    household, person, card, worker = (str(uuid.uuid4()) for _ in range(4))
    registered = cloud_event(
        "households",
        "household_registered",
        household,
        {
            "household_id": household,
            "commune_code": COMMUNE,
            "village": "Ấp Hòa Thuận",
            "area": "rural",
            "registered_on": "2019-01-15",
            "poverty_class": "unclassified",
        },
    )
    card_issued = cloud_event(
        "insurance",
        "card_issued",
        card,
        {
            "card_id": card,
            "person_id": person,
            "household_id": household,
            "commune_code": COMMUNE,
            "share": 0.7,
        },
    )
    enrolled = cloud_event(
        "employment",
        "worker_enrolled",
        worker,
        {"worker_id": worker, "person_id": person, "commune_code": COMMUNE},
    )
    # Same key, same topic: the marker is consumed after the redelivered duplicate.
    marker = cloud_event(
        "households",
        "household_reclassified",
        household,
        {"household_id": household, "commune_code": COMMUNE},
    )
    await publish(topics, registered)
    first = await eventually(lambda: trail_of(audit, household, inspector))
    earlier = SignedTreeHead.from_json(
        await signed_head_covering(audit, first[0]["leaf_index"] + 1, inspector)
    )
    await publish(topics, card_issued, enrolled, registered, marker)

    async def all_consumed() -> bool:
        # Topics are consumed independently: wait for the last event of each one.
        seen = {i["event_id"] for i in await trail_of(audit, person, inspector)}
        seen |= {i["event_id"] for i in await trail_of(audit, household, inspector)}
        return {card_issued.id, enrolled.id, marker.id} <= seen

    await eventually(all_consumed)
    items = await trail_of(audit, household, inspector)
    assert sorted(i["event_id"] for i in items) == sorted(
        [registered.id, card_issued.id, marker.id]  # the redelivered one is not there twice
    )
    assert [i["event_id"] for i in await trail_of(audit, person, inspector)] == [
        card_issued.id,
        enrolled.id,
    ]
    assert [i["event_id"] for i in await trail_of(audit, worker, inspector)] == [enrolled.id]
    assert items[0]["data"]["village"] == "Ấp Hòa Thuận"

    last_leaf = max(i["leaf_index"] for i in items)
    head = await signed_head_covering(audit, last_leaf + 1, inspector)
    key_response = await audit.get("/ledger/public-key")  # open to anyone
    public_key = LedgerPublicKey.from_text(key_response.json()["pem"])
    signed = SignedTreeHead.from_json(head)
    signed.verify(public_key)
    for item in items:
        proof = (
            await audit.get(
                "/ledger/proofs/inclusion",
                headers=bearer(inspector),
                params={"event_id": item["event_id"], "tree_size": head["tree_size"]},
            )
        ).json()
        assert proof["tree_head"] == head
        merkle.verify_inclusion(
            item["leaf_index"],
            signed.tree_size,
            bytes.fromhex(item["leaf_hash"]),
            [bytes.fromhex(h) for h in proof["audit_path"]],
            signed.root_hash,
        )
    consistency = (
        await audit.get(
            "/ledger/proofs/consistency",
            headers=bearer(inspector),
            params={"first": earlier.tree_size, "second": signed.tree_size},
        )
    ).json()
    assert consistency["first_tree_head"] == earlier.as_json()
    merkle.verify_consistency(
        earlier.tree_size,
        signed.tree_size,
        earlier.root_hash,
        signed.root_hash,
        [bytes.fromhex(h) for h in consistency["proof"]],
    )

    export = await audit.get(
        "/ledger/export",
        headers=bearer(inspector),
        params={"subject": household, "from_size": earlier.tree_size},
    )
    assert export.status_code == 200, export.text
    bundle = export.json()
    assert [e["leaf_index"] for e in bundle["events"]] == sorted(i["leaf_index"] for i in items)
    recorded = [json.loads(base64.b64decode(e["event_bytes"])) for e in bundle["events"]]
    assert {e["id"] for e in recorded} == {registered.id, card_issued.id, marker.id}
    assert all(e["specversion"] == "1.0" and e["subject"] for e in recorded)
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    (tmp_path / "ledger.pem").write_text(key_response.json()["pem"])
    verifier = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.ledger.verifier",
        str(tmp_path / "bundle.json"),
        "--public-key",
        str(tmp_path / "ledger.pem"),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await verifier.communicate()
    assert verifier.returncode == 0, stderr.decode()
    assert "OK: 3 event(s)" in stdout.decode()
    assert f"OK: tree size {earlier.tree_size} is a prefix" in stdout.decode()


async def test_operators_see_only_their_communes(
    audit: httpx.AsyncClient,
    topics: str,
    data_dir: Path,
) -> None:
    household = str(uuid.uuid4())
    known = cloud_event(
        "households",
        "household_registered",
        household,
        {"household_id": household, "commune_code": COMMUNE},
    )
    unknown = cloud_event("housing", "loan_disbursed", household, {"household_id": household})
    await publish(topics, known, unknown)
    inspector = token(data_dir, "inspector")
    await eventually(lambda: _count_at_least(audit, household, inspector, 2))

    here = token(data_dir, "operator", services=("audit",), communes=(COMMUNE,))
    elsewhere = token(data_dir, "operator", services=("audit",), communes=("30346",))
    assert [i["event_id"] for i in await trail_of(audit, household, here)] == [known.id]
    assert await trail_of(audit, household, elsewhere) == []
    export = (
        await audit.get("/ledger/export", headers=bearer(here), params={"subject": household})
    ).json()
    assert export["manifest"]["communes"] == [COMMUNE]
    assert len(export["events"]) == 1
    assert (await audit.get(f"/trail/{household}")).status_code == 401


async def _count_at_least(client: httpx.AsyncClient, subject: str, tok: str, n: int) -> bool:
    return len(await trail_of(client, subject, tok)) >= n


async def test_the_trail_of_a_household_registered_in_the_households_service(
    database_url: str, topics: str, data_dir: Path, tmp_path: Path
) -> None:
    households_db = f"sqlite+aiosqlite:///{tmp_path / 'households.db'}"
    async with (
        running_app(create_households(households_settings(households_db, topics, data_dir))) as hh,
        running_app(create_audit(audit_settings(database_url, topics, data_dir))) as audit_client,
    ):
        body = factories.household(members=3)
        response = await hh.post("/households", json=body, headers=bearer(token(data_dir)))
        assert response.status_code == 201, response.text
        registered = response.json()
        household_id = registered["household_id"]
        inspector = token(data_dir, "inspector")
        await eventually(lambda: _count_at_least(audit_client, household_id, inspector, 4))

        items = await trail_of(audit_client, household_id, inspector)
        assert [i["type"] for i in items] == ["vn.ansinh.households.household_registered.v1"] + [
            "vn.ansinh.households.person_added.v1"
        ] * 3
        assert [i["leaf_index"] for i in items] == sorted(i["leaf_index"] for i in items)
        person_id = registered["members"][1]["person_id"]
        person_trail = await trail_of(audit_client, person_id, inspector)
        assert [i["data"]["person_id"] for i in person_trail] == [person_id]
        wire = json.dumps(items, ensure_ascii=False)
        assert all(
            m["full_name"] not in wire and m["citizen_id"] not in wire for m in body["members"]
        )
