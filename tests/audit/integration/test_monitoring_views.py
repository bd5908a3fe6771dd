"""Each monitoring indicator on a small hand-built event set, through the real ledger handler
and a real database (SQLite and PostgreSQL); findings raised, cleared, never duplicated; and a
rebuild from the ledger alone giving identical views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from services.audit.monitoring import queries
from services.audit.monitoring.commands import rebuild
from services.audit.monitoring.domain.standards import AuditPolicy
from tests.audit.integration import monitoring_fixtures as f
from tests.audit.integration.monitoring_fixtures import LedgerHarness, new_id

pytestmark = pytest.mark.integration

END_2019 = date(2019, 12, 31)


@pytest.fixture
async def audit(database_url: str) -> AsyncIterator[LedgerHarness]:
    harness = await LedgerHarness.open(database_url)
    try:
        yield harness
    finally:
        await harness.close()


async def open_keys(audit: LedgerHarness, commune: str) -> set[str]:
    async with audit.sessions() as session:
        page = await queries.findings(session, commune_code=commune, limit=1000)
    return {item.key for item in page.items}


def ratio(r: Any) -> tuple[int, int]:
    return r.numerator, r.denominator


# --- democracy -------------------------------------------------------------------------------


async def democracy_events(c: str) -> tuple[dict[str, str], list[Any]]:
    ids = {name: new_id() for name in ("ok", "no_meeting", "early", "h", "c1", "c2", "c3")}
    monday, wednesday = date(2019, 10, 7), date(2019, 10, 9)
    events = [
        # a proper cycle: meeting with quorum, 3 working days of posting, recognition after
        f.meeting(c, ids["ok"], held_on=date(2019, 10, 1), attendees=40, agreeing=30),
        f.posted(c, ids["ok"], posted_on=monday, ends_on=wednesday),
        f.recognised(c, ids["ok"], on=date(2019, 10, 14)),
        # recognised with no village meeting at all (a meeting that failed does not count)
        f.meeting(c, ids["no_meeting"], held_on=date(2019, 10, 1), attendees=40, agreeing=19),
        f.posted(c, ids["no_meeting"], posted_on=monday, ends_on=wednesday),
        f.recognised(c, ids["no_meeting"], on=date(2019, 10, 14)),
        # exactly half agreed (enough), but recognised on the last day of the posting
        f.meeting(c, ids["early"], held_on=date(2019, 10, 1), attendees=40, agreeing=20),
        f.posted(c, ids["early"], posted_on=monday, ends_on=wednesday),
        f.recognised(c, ids["early"], on=wednesday),
        f.registered(c, ids["h"]),
        f.complaint_filed(c, ids["h"], ids["c1"], filed_on=date(2019, 10, 10)),
        f.complaint_resolved(
            c,
            ids["h"],
            ids["c1"],
            filed_on=date(2019, 10, 10),
            resolved_on=date(2019, 10, 20),
            class_changed=True,
        ),
        f.complaint_filed(c, ids["h"], ids["c2"], filed_on=date(2019, 10, 10)),
        f.complaint_resolved(
            c, ids["h"], ids["c2"], filed_on=date(2019, 10, 10), resolved_on=date(2019, 12, 1)
        ),  # 52 days: late
        f.complaint_filed(c, ids["h"], ids["c3"], filed_on=date(2019, 11, 20)),  # still open
        f.escape(c, ids["h"], on=date(2019, 9, 5)),
    ]
    return ids, events


async def test_democracy_indicators_and_findings(audit: LedgerHarness) -> None:
    c = f.test_commune()
    ids, events = await democracy_events(c)
    await audit.feed(*events)
    await audit.evaluate(END_2019)
    async with audit.sessions() as session:
        view = await queries.democracy(session, year=2019, commune_code=c, as_of=END_2019)
    total = view.total
    assert total.recognitions == 3
    assert ratio(total.recognitions_with_valid_meeting) == (2, 3)
    assert ratio(total.lists_posted_for_required_days) == (2, 3)
    assert ratio(total.complaints_per_1000_reviewed) == (3, 36)
    assert total.complaints_per_1000_reviewed.value == pytest.approx(83.333333)
    assert ratio(total.complaints_resolved_on_time) == (1, 3)
    assert ratio(total.complaints_changing_class) == (1, 2)
    assert (total.complaints_open, total.escape_registrations) == (1, 1)
    assert [r.commune_code for r in view.communes] == [c]
    checks = {r.review_id: (r.valid_meeting, r.posted_for_required_days) for r in view.reviews}
    assert checks == {
        ids["ok"]: (True, True),
        ids["no_meeting"]: (False, True),
        ids["early"]: (True, False),
    }
    assert await open_keys(audit, c) == {
        f"recognition_without_valid_meeting:{ids['no_meeting']}",
        f"recognised_before_posting_ended:{ids['early']}",
        f"complaint_overdue:{ids['c3']}",
    }


async def test_a_finding_is_raised_once_and_cleared_when_the_breach_ends(
    audit: LedgerHarness,
) -> None:
    c, household, complaint = f.test_commune(), new_id(), new_id()
    await audit.feed(
        f.registered(c, household),
        f.complaint_filed(c, household, complaint, filed_on=date(2019, 11, 1)),
    )
    await audit.evaluate(date(2019, 12, 1))  # 30 days: on the deadline, not past it
    assert await open_keys(audit, c) == set()
    for day in (date(2019, 12, 2), date(2019, 12, 3)):  # re-evaluating does not duplicate
        await audit.evaluate(day)
    key = f"complaint_overdue:{complaint}"
    assert await open_keys(audit, c) == {key}
    raised = [d for d in audit.published("finding_raised") if d["key"] == key]
    assert len(raised) == 1 and raised[0]["raised_on"] == "2019-12-02"
    filed_event = raised[0]["evidence"][0]
    await audit.feed(
        f.complaint_resolved(
            c, household, complaint, filed_on=date(2019, 11, 1), resolved_on=date(2019, 12, 3)
        )
    )
    assert await open_keys(audit, c) == set()
    cleared = [d for d in audit.published("finding_cleared") if d["key"] == key]
    assert [(d["finding_id"], d["sequence"]) for d in cleared] == [(raised[0]["finding_id"], 2)]
    async with audit.sessions() as session:
        page = await queries.findings(session, commune_code=c, status="cleared")
    assert [(i.key, i.evidence) for i in page.items] == [(key, [filed_event])]


# --- fairness and timeliness of cards --------------------------------------------------------


async def card_events(c: str) -> tuple[dict[str, str], list[Any]]:
    ids = {name: new_id() for name in ("p1", "p2", "p3", "p4", "p5", "c1", "c3", "c3dup", "c4")}
    start = date(2019, 1, 15)
    events = [
        f.entitled(c, ids["p1"], new_id(), starts_on=start),
        f.card(c, ids["p1"], ids["c1"], issued_on=date(2019, 1, 20)),  # 5 days
        f.entitled(c, ids["p2"], new_id(), starts_on=start),  # never carded
        f.entitled(c, ids["p3"], new_id(), starts_on=start),
        f.card(c, ids["p3"], ids["c3"], issued_on=date(2019, 2, 1)),  # 17 days
        f.card(
            c,
            ids["p3"],
            ids["c3dup"],
            issued_on=date(2019, 6, 1),
            source="partner",
            duplicate_of=ids["c3"],
        ),
        f.card(c, ids["p4"], ids["c4"], issued_on=date(2019, 3, 1), source="partner"),
        f.entitled(c, ids["p5"], new_id(), starts_on=date(2019, 12, 15)),  # 16 days waiting
    ]
    return ids, events


async def test_fairness_of_cards_and_their_findings(audit: LedgerHarness) -> None:
    c = f.test_commune()
    ids, events = await card_events(c)
    await audit.feed(*events)
    await audit.evaluate(END_2019)
    async with audit.sessions() as session:
        fair = await queries.fairness(session, year=2019, commune_code=c, as_of=END_2019)
        lags = await queries.timeliness(session, year=2019, commune_code=c, as_of=END_2019)
    assert ratio(fair.total.exclusion) == (1, 4)
    assert ratio(fair.total.excess) == (1, 4)
    assert ratio(fair.total.duplicates) == (1, 3)
    card_lag = next(s for s in lags.total.lags if s.measure == "eligibility_to_card")
    assert (card_lag.completed, card_lag.median_days, ratio(card_lag.on_time)) == (2, 11.0, (2, 2))
    assert (card_lag.open, card_lag.open_overdue) == (2, 1)
    assert [b.count for b in card_lag.backlog] == [0, 1, 0, 1]
    assert await open_keys(audit, c) == {
        f"card_missing:{ids['p2']}",
        f"duplicate_cards:{ids['p3']}",
        f"card_excess:{ids['c4']}",
    }
    # The late card is finally issued and the duplicate withdrawn: both findings clear, and
    # the card issued 350 days after the entitlement is a finding of its own.
    late_card = new_id()
    await audit.feed(
        f.card(c, ids["p2"], late_card, issued_on=date(2019, 12, 31)),
        f.card_revoked(c, ids["p3"], ids["c3dup"], on=date(2019, 12, 31)),
    )
    assert await open_keys(audit, c) == {
        f"card_excess:{ids['c4']}",
        f"card_issued_late:{late_card}",
    }
    cleared = {d["key"] for d in audit.published("finding_cleared")}
    assert {f"card_missing:{ids['p2']}", f"duplicate_cards:{ids['p3']}"} <= cleared


# --- misclassification ----------------------------------------------------------------------


async def test_misclassification_reapplies_the_standard(audit: LedgerHarness) -> None:
    c = f.test_commune()
    h = {name: new_id() for name in ("between", "poor", "above", "y2023", "y2023b")}
    await audit.feed(
        # 800,000 rural in 2019 with no deprivation is near-poor, recorded poor
        f.assessed(c, h["between"], income=800_000, recorded="poor", computed="near_poor"),
        f.assessed(c, h["poor"], income=650_000, recorded="poor", computed="poor"),
        # the planted fault: classified poor with an income above both lines
        f.assessed(c, h["above"], income=1_200_000, recorded="poor", computed="not_poor"),
        f.assessed(
            c,
            h["y2023"],
            income=1_400_000,
            recorded="poor",
            computed="poor",
            deprived=("water", "latrine", "telecom"),
            on=date(2023, 3, 1),
            standard="ND-07-2021",
        ),
        f.assessed(
            c,
            h["y2023b"],
            income=2_100_000,
            recorded="middle_income",
            computed="middle_income",
            on=date(2023, 3, 1),
            standard="ND-07-2021",
        ),
    )
    async with audit.sessions() as session:
        fair19 = await queries.fairness(session, year=2019, commune_code=c, as_of=END_2019)
        fair23 = await queries.fairness(
            session, year=2023, commune_code=c, as_of=date(2023, 12, 31)
        )
        summary = await queries.household_summary(session, h["above"])
    assert ratio(fair19.total.misclassification) == (2, 3)
    assert ratio(fair23.total.misclassification) == (0, 2)
    assert summary is None  # assessed, but never registered: no household drill-down
    assert await open_keys(audit, c) == {
        f"misclassified_assessment:{h['between']}",
        f"misclassified_assessment:{h['above']}",
    }
    await audit.feed(
        f.assessed(
            c,
            h["between"],
            income=800_000,
            recorded="near_poor",
            computed="near_poor",
            on=date(2019, 11, 1),
        )
    )
    assert await open_keys(audit, c) == {f"misclassified_assessment:{h['above']}"}


# --- timeliness of applications and housing; targets ----------------------------------------


async def test_application_and_housing_lags(audit: LedgerHarness) -> None:
    c, household = f.test_commune(), new_id()
    a1, a2, a3, loan = new_id(), new_id(), new_id(), new_id()
    await audit.feed(
        f.application_received(c, household, a1, kind="reassessment", on=date(2019, 5, 1)),
        f.application_decided(c, household, a1, received_on=date(2019, 5, 1), on=date(2019, 5, 10)),
        f.application_received(c, household, a2, kind="fall_into_poverty", on=date(2019, 6, 3)),
        f.application_decided(
            c, household, a2, received_on=date(2019, 6, 3), on=date(2019, 6, 14)
        ),  # due Wednesday 12 June: late
        f.application_received(c, household, a3, kind="reassessment", on=date(2019, 12, 1)),
        f.housing_applied(c, household, loan, on=date(2019, 3, 1)),
        f.housing_approved(c, household, loan, applied_on=date(2019, 3, 1), on=date(2019, 4, 1)),
        f.loan_disbursed(c, household, loan, approved_on=date(2019, 4, 1), on=date(2019, 5, 1)),
    )
    policy = AuditPolicy(housing_decision_days=30, housing_disbursement_days=30)
    await audit.evaluate(END_2019, policy)
    async with audit.sessions() as session:
        view = await queries.timeliness(
            session, year=2019, commune_code=c, as_of=END_2019, policy=policy
        )
    lags = {s.measure: s for s in view.total.lags}
    decisions = lags["application_to_decision"]
    assert (decisions.completed, decisions.median_days, ratio(decisions.on_time)) == (
        2,
        10.0,
        (1, 2),
    )
    assert (decisions.open, decisions.open_overdue) == (1, 1)
    housing = lags["housing_application_to_decision"]
    assert (housing.completed, housing.median_days, ratio(housing.on_time)) == (1, 31.0, (0, 1))
    paid = lags["housing_approval_to_disbursement"]
    assert (paid.completed, paid.median_days, ratio(paid.on_time), paid.open) == (
        1,
        30.0,
        (1, 1),
        0,
    )
    assert await open_keys(audit, c) == {f"application_overdue:{a3}"}


async def test_targets_plan_against_actual(audit: LedgerHarness) -> None:
    c = f.test_commune()
    households = [new_id() for _ in range(10)]
    classes = ["poor"] * 3 + ["near_poor"] * 2 + ["not_poor"] * 5
    w1, w2, w3, w4, e3, e4 = (new_id() for _ in range(6))
    await audit.feed(
        *(
            f.registered(c, h, poverty_class=k, registered_on=date(2018, 12, 1))
            for h, k in zip(households, classes, strict=True)
        ),
        f.reclassified(
            c, households[0], from_class="poor", to_class="not_poor", on=date(2019, 12, 1)
        ),
        f.reclassified(
            c, households[3], from_class="near_poor", to_class="not_poor", on=date(2019, 12, 1)
        ),
        f.target(c, 2019, placements=4, trainees=2),
        f.placed(c, w1, on=date(2019, 3, 1), period="2019"),
        f.placed(c, w1, on=date(2019, 8, 1), period="2019", repeat=True),  # counted once
        f.placed(c, w2, on=date(2019, 4, 1), period="2019"),
        f.placed(c, w2, on=date(2018, 4, 1), period="2018"),  # another year
        f.enrolled(c, w3, e3, on=date(2019, 5, 1)),
        f.enrolled(c, w4, e4, on=date(2019, 5, 1), rural=False),
        f.dropped(c, w4, e4, on=date(2019, 6, 1)),
    )
    async with audit.sessions() as session:
        view = await queries.targets(session, year=2019, commune_code=c, as_of=END_2019)
    lines = {line.measure: (line.plan, line.actual) for line in view.total.lines}
    assert lines == {"placements": (4, 2), "trainees": (2, 1), "rural_trainees": (None, 1)}
    rates = {r.measure: r for r in view.total.rates}
    assert ratio(rates["poor_rate"].start) == (3, 10) and ratio(rates["poor_rate"].end) == (2, 10)
    assert rates["poor_rate"].change_pp == pytest.approx(-10.0) and rates["poor_rate"].met
    assert rates["near_poor_rate"].change_pp == pytest.approx(-10.0)


# --- redelivery and rebuild ------------------------------------------------------------------


async def test_a_redelivered_event_counts_once(audit: LedgerHarness) -> None:
    c, household, complaint = f.test_commune(), new_id(), new_id()
    filed = f.complaint_filed(c, household, complaint, filed_on=date(2019, 10, 1))
    await audit.feed(filed, filed, filed)
    async with audit.sessions() as session:
        view = await queries.democracy(session, year=2019, commune_code=c, as_of=END_2019)
    assert view.total.complaints_received == 1


async def every_view(audit: LedgerHarness, communes: list[str], households: list[str]) -> str:
    """The JSON of every view (and the findings, open and cleared) for these communes."""
    parts: list[str] = []
    async with audit.sessions() as session:
        for c in [*communes, None]:
            for year in (2019, 2023):
                for read in (
                    queries.overview,
                    queries.democracy,
                    queries.fairness,
                    queries.timeliness,
                    queries.targets,
                ):
                    parts.append(
                        (
                            await read(session, year=year, commune_code=c, as_of=END_2019)
                        ).model_dump_json()
                    )
            page = await queries.findings(session, commune_code=c, status=None, limit=1000)
            parts.append(page.model_dump_json())
        for h in households:
            summary = await queries.household_summary(session, h, as_of=END_2019)
            parts.append(summary.model_dump_json() if summary else "none")
        parts.extend(
            r.model_dump_json()
            for r in await queries.commune_rows(session, year=2019, as_of=END_2019)
        )
    return "\n".join(parts)


async def test_rebuild_from_the_ledger_gives_identical_views(audit: LedgerHarness) -> None:
    c1, c2 = f.test_commune(), f.test_commune()
    ids, democracy = await democracy_events(c1)
    _, cards = await card_events(c2)
    await audit.feed(*democracy, *cards)
    await audit.evaluate(END_2019)
    await audit.feed(
        f.complaint_resolved(
            c1, ids["h"], ids["c3"], filed_on=date(2019, 11, 20), resolved_on=date(2019, 12, 30)
        )
    )  # one cleared
    before = await every_view(audit, [c1, c2], [ids["h"]])
    assert "complaint_overdue" in before and '"status":"cleared"' in before
    published = len(audit.findings)
    report = await rebuild(audit.sessions, as_of=END_2019, policy=AuditPolicy())
    await audit.relay()
    assert (report.findings_raised, report.findings_cleared) == (0, 0)
    assert report.rows["view_findings"] > 0 and report.events_replayed > len(democracy)
    assert len(audit.findings) == published  # nothing published again
    assert await every_view(audit, [c1, c2], [ids["h"]]) == before
