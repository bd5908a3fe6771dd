"""Stage 5: housing support under Decision 33/2015 for poor households with makeshift houses.

After the recognition, poor households whose survey found the house lacking (makeshift or
dilapidated), independent for five years or more, apply for the 25-million-đồng loan of
the Bank for Social Policies; a few near-poor households apply too and are refused by the
rules (not on the poor list). Each commune ranks its eligible applications, posts the list,
approves it after the posting period within its quota; the bank disburses each loan within
a month, the house is built and accepted within a few months, and some households prepay
part of the principal during the grace years. Every date is on or before ``AS_OF``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from deploy.local.scenario.client import ScenarioError, each
from deploy.local.scenario.plan import AS_OF, YEAR, Household, between, rng_for
from deploy.local.scenario.run import ScenarioRun, StageBar

LOAN = 25_000_000
COMMUNE_CAP = 40  # applications per commune, under the default yearly quota of 50


def _day(day: date) -> date:
    return min(day, AS_OF)


def _candidates(run: ScenarioRun, poverty_class: str) -> list[Household]:
    faulty = run.faulty_households()
    found = [
        h
        for h in run.households.values()
        if h.poverty_class == poverty_class
        and h.class_since is not None
        and h.class_since.year == YEAR
        and "housing_quality" in h.survey.deprived_indicators
        and h.independent_since_year is not None
        and h.independent_since_year <= YEAR - 5
        and h.household_id not in faulty
    ]
    found.sort(key=lambda h: h.ref)
    rng_for(run.seed, f"housing:{poverty_class}").shuffle(found)
    return found


def _chosen(run: ScenarioRun) -> list[Household]:
    """The applicants: eligible poor households (at most COMMUNE_CAP a commune), and a few
    near-poor ones the rules will refuse."""
    wanted = max(3, run.size // 250)
    per_commune: dict[str, int] = defaultdict(int)
    chosen: list[Household] = []
    for household in _candidates(run, "poor"):
        if len(chosen) < wanted and per_commune[household.commune_code] < COMMUNE_CAP:
            chosen.append(household)
            per_commune[household.commune_code] += 1
    return chosen + _candidates(run, "near_poor")[: max(1, wanted // 40)]


def _application(run: ScenarioRun, household: Household) -> dict[str, Any]:
    rng = rng_for(run.seed, f"housing:{household.ref}")
    assert household.class_since is not None
    head = next(m for m in household.members if m.relation_to_head == "head")
    alone_elderly = len(household.members) == 1 and head.age_on(household.class_since) >= 60
    return {
        "household_id": household.household_id,
        "applied_on": _day(household.class_since + timedelta(days=between(rng, 7, 25))).isoformat(),
        "house_condition": "makeshift" if rng.random() < 0.7 else "dilapidated",
        "floor_area_m2": float(between(rng, 12, 30)),
        "residents": len(household.members),
        "priority": {
            "elderly_lone_or_disabled": alone_elderly,
            "ethnic_minority": household.khmer_head,
        },
        "amount_requested": LOAN,
    }


async def _listed(run: ScenarioRun, household: Household, on: str) -> None:
    """Wait until the housing service knows the household's recognised class on ``on``, so
    the rules judge the application on the list as it stands (not on a late event)."""
    for _ in range(120):
        found = await run.client.request(
            "housing",
            "GET",
            f"/households/{household.household_id}",
            params={"on": on},
            accept=(200, 404),
        )
        if found.status_code == 200 and found.json()["listed_class"] == household.poverty_class:
            return
        await asyncio.sleep(0.5)
    raise ScenarioError(
        f"the housing service does not list household {household.household_id} as "
        f"{household.poverty_class} on {on}"
    )


async def play_housing(run: ScenarioRun, bar: StageBar) -> str:
    """Stage 5: applications, posted and approved lists, loans, construction, repayments."""
    bar.begin("waiting for the recognitions (events settling)")
    await run.client.settle(["housing"])
    chosen = _chosen(run)
    communes = sorted({h.commune_code for h in chosen})
    existing = {
        a["household_id"]: a
        for c in communes
        for a in await run.client.get("housing", "/applications", commune_code=c, limit=500)
    }
    todo = [h for h in chosen if h.household_id not in existing]
    bar.begin(f"{len(chosen)} applications", total=len(todo))

    async def apply(household: Household) -> None:
        application = _application(run, household)
        await _listed(run, household, application["applied_on"])
        existing[household.household_id] = await run.client.post(
            "housing", "/applications", application
        )

    await each(todo, apply, advance=bar.advance, width=4)
    applications = [existing[h.household_id] for h in chosen]
    by_commune: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for application in applications:
        if application["status"] != "refused":
            by_commune[application["commune_code"]].append(application)
    bar.begin("approval lists: posted, then approved", total=len(by_commune))
    approved = await each(
        sorted(by_commune.items()),
        lambda item: _list(run, item[0], item[1]),
        advance=bar.advance,
        width=4,
    )
    loans = [a for found in approved for a in found]
    bar.begin("loans and construction", total=len(loans))
    await each(loans, lambda a: _deliver(run, a), advance=bar.advance, width=4)
    refused = sum(1 for a in applications if a["status"] == "refused")
    return (
        f"{len(applications)} applications ({refused} refused by the rules), "
        f"{len(loans)} loans disbursed, houses built"
    )


async def _list(
    run: ScenarioRun, commune: str, applications: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Post the commune's list and approve it after the posting; its approved applications."""
    pending = [a for a in applications if a["status"] in ("eligible", "listed")]
    if pending:
        list_id = next((a["list_id"] for a in pending if a["list_id"]), None)
        if list_id is None:
            posted_on = max(date.fromisoformat(a["applied_on"]) for a in pending)
            posted = await run.client.post(
                "housing",
                f"/communes/{commune}/approval-lists",
                {"posted_on": _day(posted_on + timedelta(days=2)).isoformat(), "year": YEAR},
            )
            list_id = posted["list_id"]
        posted = await run.client.get("housing", f"/approval-lists/{list_id}")
        ends_on = date.fromisoformat(posted["posting_ends_on"])
        delay = between(rng_for(run.seed, f"list:{commune}"), 1, 4)
        await run.client.post(
            "housing",
            f"/approval-lists/{list_id}/approval",
            {"approved_on": (ends_on + timedelta(days=delay)).isoformat()},
        )
    found = [
        await run.client.get("housing", f"/applications/{a['application_id']}")
        for a in applications
    ]
    return [a for a in found if a["status"] == "approved"]


async def _deliver(run: ScenarioRun, application: dict[str, Any]) -> None:
    """Disburse the loan, build and accept the house; some prepay part of the principal."""
    rng = rng_for(run.seed, f"loan:{application['household_id']}")
    loan_id, app_id = application["loan_id"], application["application_id"]
    loan = await run.client.get("housing", f"/loans/{loan_id}")
    if loan["disbursed_on"] is None:
        approved_on = date.fromisoformat(application["approved_on"])
        loan = await run.client.post(
            "housing",
            f"/loans/{loan_id}/disbursement",
            {"disbursed_on": _day(approved_on + timedelta(days=between(rng, 10, 30))).isoformat()},
        )
    disbursed_on = date.fromisoformat(loan["disbursed_on"])
    built = await run.client.get("housing", f"/applications/{app_id}/construction")
    day = disbursed_on
    for stage, (low, high) in (
        ("started", (3, 10)),
        ("completed", (45, 90)),
        ("accepted", (3, 10)),
    ):
        day = _day(day + timedelta(days=between(rng, low, high)))
        if built[f"{stage}_on"] is None:
            await run.client.post(
                "housing",
                f"/applications/{app_id}/construction",
                {"stage": stage, "on": day.isoformat()},
            )
    if rng.random() < 0.25 and not loan["repayments"]:
        await run.client.post(
            "housing",
            f"/loans/{loan_id}/repayments",
            {
                "paid_on": _day(disbursed_on + timedelta(days=between(rng, 100, 170))).isoformat(),
                "amount": between(rng, 10, 30) * 100_000,
            },
        )
