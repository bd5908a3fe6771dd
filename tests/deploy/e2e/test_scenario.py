"""The small 2019 scenario played on the whole platform, as `ansinh up` and `ansinh seed` run it.

One platform (the embedded broker and all five services on free ports) and one run of the
small profile serve every test of this module; each test checks one stage's effects
through the services' APIs, and the last one reads the inspector dashboard in headless
Chromium: it must show every planted fault as a finding, and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from deploy.local.scenario.faults import (
    DUPLICATE_CARD,
    FAULT_KINDS,
    LATE_CARDS,
    MISCLASSIFIED_POOR,
    RECOGNITION_BEFORE_POSTING_ENDED,
    RECOGNITION_WITHOUT_MEETING,
)
from deploy.local.scenario.plan import AS_OF, YEAR
from deploy.local.scenario.seed import SMALL_HOUSEHOLDS, seed_district
from shared.events import SERVICES
from shared.localbroker import free_port
from tests.audit.browser.support import log_in, new_page
from tests.deploy.e2e.test_launcher import ansinh_command, children_of, command_line
from tests.support import bearer, token

# Room for a slow machine: the run takes about two minutes on two idle cores.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STARTUP_SECONDS = 150
SEED_SECONDS = 420
STOP_SECONDS = 60
COMMUNES = (
    "30502",
    "30505",
    "30508",
    "30511",
    "30514",
    "30517",
    "30520",
    "30523",
    "30526",
    "30529",
    "30532",
    "30535",
    "30538",
    "30541",
)


@dataclass
class Seeded:
    """The platform after `ansinh seed --profile small`, and what the seeding printed."""

    data_dir: Path
    ports: dict[str, int]
    output: str
    manifest: dict[str, Any]
    http: httpx.Client

    def get(self, service: str, path: str, **params: Any) -> Any:
        response = self.http.get(f"http://127.0.0.1:{self.ports[service]}{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def fault(self, kind: str) -> dict[str, Any]:
        return next(f for f in self.manifest["faults"] if f["kind"] == kind)


def _wait_until_ready(
    process: subprocess.Popen[bytes], output: Path, ports: dict[str, int]
) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`ansinh up` exited with {process.returncode}:\n{output.read_text()}")
        if "Press Ctrl-C to stop." in output.read_text(errors="replace"):
            with contextlib.suppress(httpx.HTTPError):
                if all(
                    httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
                    for port in ports.values()
                ):
                    return
        time.sleep(0.5)
    pytest.fail(f"the platform was not ready within {STARTUP_SECONDS}s:\n{output.read_text()}")


def _stop(
    process: subprocess.Popen[bytes], ports: dict[str, int], broker_port: int, children: set[int]
) -> None:
    children |= children_of(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
    marks = [str(p) for p in (*ports.values(), broker_port)]
    for pid in children:  # never leave a broker or a service behind a failed test
        if any(mark in command_line(pid) for mark in marks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """`ansinh up --no-seed` on free ports, then `ansinh seed --profile small` once."""
    root = tmp_path_factory.mktemp("scenario")
    data_dir = root / "data"
    ports = {name: free_port() for name in SERVICES}
    broker_port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update({f"ANSINH_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(
        ANSINH_BROKER_PORT=str(broker_port),
        ANSINH_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
        # `ansinh up` pins the audit's today to the scenario's end itself when it seeds;
        # here the seeding is a separate command, so the test pins it the same way.
        ANSINH_AUDIT_CLOCK_DATE=AS_OF.isoformat(),
    )
    output = root / "ansinh-up.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                *ansinh_command(),
                "up",
                "--no-seed",
                "--data-dir",
                str(data_dir),
                "--ready-timeout",
                str(STARTUP_SECONDS - 10),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
    children: set[int] = set()
    try:
        _wait_until_ready(process, output, ports)
        children = children_of(process.pid)
        seeding = subprocess.run(
            [*ansinh_command(), "seed", "--profile", "small", "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=SEED_SECONDS,
            check=False,
        )
        assert seeding.returncode == 0, seeding.stdout + seeding.stderr
        manifest = json.loads((data_dir / "scenario-faults.json").read_text(encoding="utf-8"))
        with httpx.Client(headers=bearer(token(data_dir)), timeout=30) as http:
            yield Seeded(data_dir, ports, seeding.stdout, manifest, http)
    finally:
        _stop(process, ports, broker_port, children)


def test_the_manifest_lists_the_five_planted_faults(seeded: Seeded) -> None:
    assert "seeded 300 households" in seeded.output
    assert [f["kind"] for f in seeded.manifest["faults"]] == list(FAULT_KINDS)
    assert seeded.manifest["scenario"]["as_of"] == AS_OF.isoformat()
    for fault in seeded.manifest["faults"]:
        assert fault["commune_code"] in COMMUNES
        assert fault["subject_ids"], fault
    assert len({f["commune_code"] for f in seeded.manifest["faults"]}) == 5


def test_recognitions_reclassify_households_at_plausible_rates(seeded: Seeded) -> None:
    rates = [seeded.get("households", f"/communes/{c}/poverty-rates") for c in COMMUNES]
    households = sum(r["households"] for r in rates)
    assert households == 300
    assert 0.05 <= sum(r["poor"] for r in rates) / households <= 0.14
    assert 0.03 <= sum(r["near_poor"] for r in rates) / households <= 0.11
    reviews = seeded.get("households", "/reviews", year=YEAR)
    rogue = {
        seeded.fault(RECOGNITION_WITHOUT_MEETING)["review_id"],
        seeded.fault(RECOGNITION_BEFORE_POSTING_ENDED)["review_id"],
    }
    recognised = [r for r in reviews if r["review_id"] not in rogue]
    assert {r["stage"] for r in recognised} == {"recognised"}
    for review in recognised:
        day = date.fromisoformat(review["recognised_on"])
        assert date(YEAR, 11, 1) <= day <= date(YEAR, 12, 14)
        assert day > date.fromisoformat(review["posting_ends_on"])
        assert review["approved_meeting_id"] is not None
    complaints = seeded.get("households", "/complaints")
    assert len(complaints) >= 2
    assert all(c["status"] == "resolved" and c["resolved_on"] <= c["due_on"] for c in complaints)


def test_rogue_recognitions_reach_the_ledger_and_the_api_still_refuses_them(
    seeded: Seeded,
) -> None:
    without = seeded.fault(RECOGNITION_WITHOUT_MEETING)
    review = seeded.get("households", f"/reviews/{without['review_id']}")
    assert review["stage"] == "surveying" and review["meetings"] == []
    assert "no village meeting recorded" in review["recognition_blockers"]
    early = seeded.fault(RECOGNITION_BEFORE_POSTING_ENDED)
    assert early["recognised_on"] <= early["posting_ends_on"]
    assert seeded.get("households", f"/reviews/{early['review_id']}")["stage"] == "posted"
    for fault in (without, early):
        trail = seeded.get("audit", f"/trail/{fault['review_id']}")
        recognitions = [
            e for e in trail["items"] if e["type"] == "vn.ansinh.households.review_recognised.v1"
        ]
        assert [e["event_id"] for e in recognitions] == [fault["event_id"]]
        assert recognitions[0]["data"]["meeting_id"] == fault.get("meeting_id")


def test_the_misclassified_household_is_recognised_poor_on_an_override(seeded: Seeded) -> None:
    fault = seeded.fault(MISCLASSIFIED_POOR)
    household = seeded.get("households", f"/households/{fault['household_id']}")
    assert household["poverty_class"] == "poor"
    assessment = next(
        a
        for a in seeded.get("households", f"/households/{fault['household_id']}/assessments")
        if a["assessment_id"] == fault["assessment_id"]
    )
    assert assessment["recorded_class"] == "poor" != assessment["computed_class"]
    assert assessment["override_reason"]
    assert assessment["income_per_person_month"] > fault["near_poverty_line"]


def test_every_entitled_person_holds_a_card_and_only_the_planted_ones_are_faulty(
    seeded: Seeded,
) -> None:
    uncarded = seeded.get("insurance", "/worklists/uncarded", on=AS_OF.isoformat())
    assert uncarded["total"] == 0
    assert seeded.get("insurance", "/worklists/to-revoke", on=AS_OF.isoformat()) == []
    duplicate = seeded.fault(DUPLICATE_CARD)
    [doubled] = seeded.get("insurance", "/worklists/duplicates")
    assert doubled["person_id"] == duplicate["person_id"]
    assert {c["card_id"] for c in doubled["cards"]} == {
        duplicate["active_card_id"],
        duplicate["duplicate_card_id"],
    }
    late = seeded.fault(LATE_CARDS)
    poor = [h for h in _households(seeded) if h["poverty_class"] in ("poor", "near_poor")]
    delays: dict[str, list[int]] = {}
    for member in (m for h in poor for m in h["members"]):
        person = seeded.get("insurance", f"/persons/{member['person_id']}")
        for card in person["cards"]:
            if card["source"] == "local":
                waited = date.fromisoformat(card["issued_on"]) - date.fromisoformat(
                    card["entitled_since"]
                )
                delays.setdefault(card["commune_code"], []).append(waited.days)
    assert sum(len(d) for d in delays.values()) > 100
    assert all(60 <= d <= 75 for d in delays[late["commune_code"]])
    assert len(delays[late["commune_code"]]) == late["cards"]
    on_time = [d for c, ds in delays.items() if c != late["commune_code"] for d in ds]
    assert all(0 <= d <= 30 for d in on_time)


def test_placements_and_rural_trainees_meet_the_plan_in_every_commune(seeded: Seeded) -> None:
    for unit in ("890", *COMMUNES):
        progress = seeded.get(
            "employment", f"/targets/{YEAR}/{unit}/progress", as_of=date(YEAR, 12, 31).isoformat()
        )
        for line in ("placements", "rural_trainees"):
            assert progress[line]["target"] is not None, (unit, line)
            assert progress[line]["achieved"] >= progress[line]["target"], (unit, line)
    district = seeded.get(
        "employment", f"/targets/{YEAR}/890/progress", as_of=date(YEAR, 12, 31).isoformat()
    )
    assert district["placements"]["target"] == 40
    assert district["rural_trainees"]["target"] == 10
    assert district["placements"]["achieved"] <= 2 * district["placements"]["target"]


def test_housing_loans_are_disbursed_and_houses_built(seeded: Seeded) -> None:
    approved = [
        a
        for c in COMMUNES
        for a in seeded.get("housing", "/applications", commune_code=c, limit=500)
        if a["status"] == "approved"
    ]
    assert len(approved) >= 3
    for application in approved:
        loan = seeded.get("housing", f"/loans/{application['loan_id']}", as_of=AS_OF.isoformat())
        assert loan["disbursed_on"] is not None and loan["principal"] == 25_000_000
        assert loan["days_overdue"] == 0
        built = seeded.get("housing", f"/applications/{application['application_id']}/construction")
        assert built["completed_on"] is not None and built["accepted_on"] is not None


async def test_seeding_again_changes_nothing(seeded: Seeded) -> None:
    before = seeded.manifest

    outcome = await seed_district(seeded.data_dir, households=SMALL_HOUSEHOLDS)

    assert outcome.startswith("already seeded")
    after = json.loads((seeded.data_dir / "scenario-faults.json").read_text(encoding="utf-8"))
    assert after == before


# For each planted fault: the kind of finding the audit must raise, and the manifest's
# field naming what each such finding is about (one finding per id in that field).
FINDING_OF_FAULT = {
    RECOGNITION_WITHOUT_MEETING: ("recognition_without_valid_meeting", "review_id"),
    RECOGNITION_BEFORE_POSTING_ENDED: ("recognised_before_posting_ended", "review_id"),
    DUPLICATE_CARD: ("duplicate_cards", "person_id"),
    LATE_CARDS: ("card_issued_late", "card_ids"),
    MISCLASSIFIED_POOR: ("misclassified_assessment", "household_id"),
}


async def test_the_dashboard_flags_every_planted_fault_and_nothing_else(
    seeded: Seeded, browser: Browser
) -> None:
    expected: set[tuple[str, str, str]] = set()
    for fault in seeded.manifest["faults"]:
        kind, field = FINDING_OF_FAULT[fault["kind"]]
        ids = fault[field] if isinstance(fault[field], list) else [fault[field]]
        assert set(ids) <= set(fault["subject_ids"])
        expected |= {(kind, subject, fault["commune_code"]) for subject in ids}
    assert len(expected) == 4 + seeded.fault(LATE_CARDS)["cards"]

    audit = f"http://127.0.0.1:{seeded.ports['audit']}"
    async with new_page(browser, audit) as page:
        await log_in(page, token(seeded.data_dir, "inspector"), "/dashboard/findings")
        await page.select_option("select[name=status]", "all")  # cleared ones count too
        await page.click("form.toolbar button[type=submit]")
        await expect(page).to_have_url(re.compile(r"status=all"))
        shown: list[tuple[str, str, str]] = []
        while True:
            rows = page.locator("#findings-table tbody tr")
            for row in await rows.all():
                shown.append(
                    (
                        await row.get_attribute("data-kind") or "",
                        await row.get_attribute("data-subject") or "",
                        await row.get_attribute("data-commune") or "",
                    )
                )
            following = page.locator(".pager a", has_text="→")  # the next page
            if await following.count() == 0:
                break
            await following.click()

        assert sorted(shown) == sorted(expected)

        # The inspector's way in: filter one kind and open the evidence of a late card.
        late = seeded.fault(LATE_CARDS)
        await page.goto(f"/dashboard/findings?kind=card_issued_late&commune={late['commune_code']}")
        rows = page.locator("#findings-table tbody tr")
        await expect(rows).to_have_count(late["cards"])
        await expect(rows.first).to_contain_text("standard 30")


def _households(seeded: Seeded) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        page = seeded.get(
            "households", "/households", limit=500, **({"after": after} if after else {})
        )
        items += page["items"]
        after = page["next_cursor"]
        if after is None:
            return items
