"""Stage 3: health-insurance cards for the persons the review entitled.

The insurance service derived the entitlements itself from the households events (members
of poor and near-poor households, from the recognition day). The scenario only does what a
commune officer does: take the uncarded worklist of each commune and record the card VSS
issued for each person, 3–24 days after the entitlement began (the service standard is 30)
— except in :attr:`FAULTS.late_cards`, whose cards come 60–75 days after (fault d). Then
the agency's confirmation file brings one card for a person who already holds one: the
service records it as a ``duplicate`` (fault c).

Cards are valid 12 months; the service's own periodic sweep, which runs on today's date,
expires them as the rules do. No 2019 card is revoked: the households that leave poverty
in 2019 do so before a card is issued to them (a revocation caused by a 2019 event would
be dated on the day the service processed it, not in 2019).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from deploy.local.scenario.client import ScenarioError, each
from deploy.local.scenario.faults import DUPLICATE_CARD, LATE_CARDS
from deploy.local.scenario.plan import (
    AS_OF,
    FAULTS,
    LATE_CARD_DAYS,
    YEAR,
    card_delay_days,
    social_insurance_number,
)
from deploy.local.scenario.run import ScenarioRun, StageBar

CONFIRMATION_COLUMNS = (
    "citizen_pseudonym",
    "person_id",
    "card_number",
    "valid_from",
    "valid_to",
    "issued_on",
)


async def uncarded(run: ScenarioRun, commune_code: str) -> list[dict[str, Any]]:
    """Persons the 2019 review entitled who have never held a card (the worklist, AS_OF)."""
    page = await run.client.get(
        "insurance",
        "/worklists/uncarded",
        commune_code=commune_code,
        on=AS_OF.isoformat(),
        limit=10_000,
    )
    if page["total"] > len(page["items"]):
        raise ScenarioError(
            f"commune {commune_code} has {page['total']} persons to card: "
            "more than one worklist page"
        )
    # A later wait (after a card ended) is not the 2019 issue round.
    items: list[dict[str, Any]] = [
        i for i in page["items"] if date.fromisoformat(i["waiting_since"]).year <= YEAR
    ]
    return items


async def issue_cards(run: ScenarioRun, bar: StageBar) -> str:
    """Stage 3: a card for every entitled person, and the partner's duplicate.

    The worklists are read again once a round is issued, until none is left (an
    entitlement derived late would otherwise stay without a card). The duplicate comes
    right after its holder's card, while that card is surely active: the service's own
    sweep, on today's date, expires 2019 cards whenever it runs.
    """
    issued = 0
    for _ in range(4):
        bar.begin("waiting for the entitlements (events settling)")
        await run.client.settle(["insurance"])
        communes = sorted({h.commune_code for h in run.households.values()})
        worklists = await each(communes, lambda code: uncarded(run, code), width=4)
        todo = [item for items in worklists for item in items]
        if not todo:
            break
        holder = None if run.manifest.planted(DUPLICATE_CARD) else _first_holder(run, todo)
        if holder is not None:
            todo.remove(holder)
            await _issue(run, holder)
            await import_partner_duplicate(run, bar, holder["person_id"])
            issued += 1
        bar.begin(f"issuing {len(todo):,} cards", total=len(todo))
        await each(todo, lambda item: _issue(run, item), advance=bar.advance, width=16)
        issued += len(todo)
    late = await record_late_cards(run, bar)
    if not run.manifest.planted(DUPLICATE_CARD):  # every holder was carded by an earlier run
        await import_partner_duplicate(run, bar, await _duplicate_holder(run))
    return (
        f"{issued:,} cards issued ({late} late in {FAULTS.late_cards}), 1 duplicate from the agency"
    )


def _first_holder(run: ScenarioRun, items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The worklist item of the duplicate's holder: in the duplicate-card commune, Khmer
    first (the agency's card comes from the ethnic-minority list), then by person id."""
    khmer = {
        m.person_id for h in run.households.values() for m in h.members if m.ethnicity == "Khmer"
    }
    found = [i for i in items if i["commune_code"] == FAULTS.duplicate_card]
    return min(found, key=lambda i: (i["person_id"] not in khmer, i["person_id"]), default=None)


async def _issue(run: ScenarioRun, item: dict[str, Any]) -> None:
    """Record the card VSS issued to the worklist's person (a fresh SI number each try)."""
    person_id = item["person_id"]
    entitled = date.fromisoformat(item["waiting_since"])
    delay = card_delay_days(run.seed, person_id, item["commune_code"])
    issued_on = (entitled + timedelta(days=delay)).isoformat()
    for _ in range(5):
        number = social_insurance_number(run.seed, person_id, run.si_numbers)
        response = await run.client.request(
            "insurance",
            "POST",
            "/cards",
            accept=(201, 409),
            json={
                "person_id": person_id,
                "social_insurance_number": number,
                "valid_from": issued_on,
                "issued_on": issued_on,
            },
        )
        if response.status_code == 201:
            return
    raise ScenarioError(f"no free social insurance number found for person {person_id}")


async def _cards_of_commune(run: ScenarioRun, commune_code: str) -> list[dict[str, Any]]:
    """Every card of the commune's poor and near-poor households' members (one request a
    person: the API has no card listing)."""
    persons = [
        m.person_id
        for h in run.households.values()
        if h.commune_code == commune_code and h.poverty_class in ("poor", "near_poor")
        for m in h.members
    ]

    async def cards(person_id: str) -> list[dict[str, Any]]:
        found = await run.client.request(
            "insurance", "GET", f"/persons/{person_id}", accept=(200, 404)
        )
        return list(found.json()["cards"]) if found.status_code == 200 else []

    return [card for found in await each(persons, cards, width=16) for card in found]


async def record_late_cards(run: ScenarioRun, bar: StageBar) -> int:
    """Fault (d): the cards of the late commune, with their delays, into the manifest."""
    bar.begin(f"checking the cards of {FAULTS.late_cards}")
    late = sorted(
        (
            c
            for c in await _cards_of_commune(run, FAULTS.late_cards)
            if c["source"] == "local" and c["entitled_since"]
        ),
        key=lambda c: (c["issued_on"], c["card_id"]),
    )
    if not late:
        raise ScenarioError(f"no card was issued in {FAULTS.late_cards}: play more households")
    delays = [
        (date.fromisoformat(c["issued_on"]) - date.fromisoformat(c["entitled_since"])).days
        for c in late
    ]
    run.manifest.record(
        LATE_CARDS,
        FAULTS.late_cards,
        [c["card_id"] for c in late] + sorted({c["person_id"] for c in late}),
        card_ids=[c["card_id"] for c in late],
        person_ids=[c["person_id"] for c in late],
        cards=len(late),
        min_delay_days=min(delays),
        max_delay_days=max(delays),
        service_standard_days=30,
        planned_delay_days=list(LATE_CARD_DAYS),
        how="every card of the commune recorded 60-75 days after the entitlement began",
    )
    return len(late)


async def import_partner_duplicate(run: ScenarioRun, bar: StageBar, person_id: str) -> None:
    """Fault (c): the agency confirms a second card for a person who holds an active one."""
    bar.begin("importing the agency's confirmations")
    holder: dict[str, Any] = await run.client.get("insurance", f"/persons/{person_id}")
    active = next(c for c in holder["cards"] if c["status"] == "active")
    khmer = any(
        m.person_id == person_id and m.ethnicity == "Khmer"
        for h in run.households.values()
        for m in h.members
    )
    object_code = "DT2" if khmer else "BT2"  # an ethnic-minority or allowance list's card
    valid_from = date.fromisoformat(active["valid_from"]) + timedelta(days=12)
    row = [
        holder["citizen_pseudonym"],
        holder["person_id"],
        f"{object_code}{active['province_code']}{active['card_number'][-10:]}",
        valid_from.isoformat(),
        (valid_from + timedelta(days=364)).isoformat(),
        valid_from.isoformat(),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([CONFIRMATION_COLUMNS, row])
    recorded = next((c for c in holder["cards"] if c["status"] == "duplicate"), None)
    if recorded is None:  # not imported by an interrupted run already
        report = await run.client.upload_csv(
            "insurance", "/imports/card-confirmations", buffer.getvalue().encode()
        )
        mismatch = next((m for m in report["mismatches"] if m["kind"] == "duplicate_card"), None)
        if mismatch is None:
            raise ScenarioError(f"the agency's duplicate was not recorded as one: {report}")
        recorded = {"card_id": mismatch["card_id"], "partner_import_id": report["import_id"]}
    run.manifest.record(
        DUPLICATE_CARD,
        holder["commune_code"],
        [holder["person_id"], recorded["card_id"], active["card_id"]],
        person_id=holder["person_id"],
        duplicate_card_id=recorded["card_id"],
        active_card_id=active["card_id"],
        import_id=recorded["partner_import_id"],
        how="card-confirmation import of an agency card for a person already holding an "
        "active card (recorded with status 'duplicate')",
    )


async def _duplicate_holder(run: ScenarioRun) -> str:
    """A person of the duplicate-card commune holding an active card (Khmer first)."""
    khmer = {
        m.person_id for h in run.households.values() for m in h.members if m.ethnicity == "Khmer"
    }
    persons = sorted(
        (
            m.person_id
            for h in run.households.values()
            if h.commune_code == FAULTS.duplicate_card and h.poverty_class in ("poor", "near_poor")
            for m in h.members
        ),
        key=lambda p: (p not in khmer, p),
    )
    for person_id in persons:
        person = await run.client.get("insurance", f"/persons/{person_id}")
        if any(c["status"] == "active" for c in person["cards"]):
            return person_id
    raise ScenarioError(f"no carded person in {FAULTS.duplicate_card}: play more households")
