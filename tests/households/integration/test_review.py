"""The review cycle over HTTP: periodic review to recognition, complaints, voluntary escape and
regular-review applications, on the real app, database and broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events import CloudEvent, topic_for
from tests import factories
from tests.support import bearer, read_events, token

pytestmark = pytest.mark.integration

RECLASSIFIED = "vn.ansinh.households.household_reclassified.v1"

# Survey inputs under Decree 07/2021 (rural line 1,500,000 VND; middle band up to 2,250,000).
POOR = {
    "income_per_person_month": 1_000_000,
    "deprived_indicators": ["employment", "nutrition", "water"],
}
NEAR_POOR = {"income_per_person_month": 1_200_000, "deprived_indicators": ["water"]}
MIDDLE_INCOME = {"income_per_person_month": 2_000_000}


def event_name(event: CloudEvent) -> str:
    return event.type.split(".")[-2]


class Office:
    """A commune officer driving the households API (admin token unless told otherwise)."""

    def __init__(self, client: httpx.AsyncClient, data_dir: Path) -> None:
        self.client = client
        self.headers = bearer(token(data_dir))

    async def call(self, method: str, url: str, expect: int = 200, **body: Any) -> Any:
        response = await self.client.request(method, url, json=body or None, headers=self.headers)
        assert response.status_code == expect, response.text
        return response.json()

    async def household(self, commune: str = factories.COMMUNE_NHON_HUNG) -> str:
        created = await self.call(
            "POST", "/households", 201, **factories.household(commune=commune)
        )
        return str(created["household_id"])

    async def assess(
        self, household_id: str, on: str, inputs: dict[str, Any], review_id: str | None = None
    ) -> str:
        assessment = await self.call(
            "POST",
            f"/households/{household_id}/assessments",
            201,
            assessed_on=on,
            review_id=review_id,
            **inputs,
        )
        return str(assessment["assessment_id"])

    async def make_poor(self, household_id: str) -> None:
        """The household falls into poverty mid-year and a regular review recognises it."""
        application = await self.call(
            "POST",
            "/applications",
            201,
            household_id=household_id,
            kind="fall_into_poverty",
            received_on="2024-03-01",
        )
        assessment_id = await self.assess(household_id, "2024-03-04", POOR)
        await self.call(
            "POST",
            f"/applications/{application['application_id']}/decision",
            decided_on="2024-03-06",
            outcome="approved",
            assessment_id=assessment_id,
        )

    async def open_review(
        self,
        household_ids: list[str],
        village: str = "Ấp Hòa Thuận",
        commune: str = factories.COMMUNE_NHON_HUNG,
    ) -> str:
        review = await self.call(
            "POST",
            "/reviews",
            201,
            commune_code=commune,
            village=village,
            year=2024,
            opened_on="2024-09-03",
            household_ids=household_ids,
        )
        assert review["stage"] == "listing"
        return str(review["review_id"])

    async def meeting(
        self,
        review_id: str,
        held_on: str,
        *,
        agreeing: int = 20,
        expect: int = 201,
        chaired_by_village_head: bool = True,
    ) -> Any:
        return await self.call(
            "POST",
            f"/reviews/{review_id}/meetings",
            expect,
            held_on=held_on,
            invited_households=40,
            attendees=30,
            agreeing=agreeing,
            chaired_by_village_head=chaired_by_village_head,
            supervised_by_fatherland_front=True,
            minutes="Biên bản họp thôn",
        )

    async def refused_recognition(self, review_id: str, on: str) -> list[str]:
        """The blockers a refused recognition names, one problem `errors` entry each."""
        problem = await self.call(
            "POST", f"/reviews/{review_id}/recognition", 422, recognised_on=on
        )
        assert {e["field"] for e in problem["errors"]} == {"body.recognised_on"}
        return [e["message"] for e in problem["errors"]]

    async def recognised_review(self, classes: dict[str, dict[str, Any]]) -> str:
        """A review of these households, surveyed with these inputs, taken to recognition."""
        review_id = await self.open_review(list(classes))
        for household_id, inputs in classes.items():
            await self.assess(household_id, "2024-09-10", inputs, review_id)
        await self.meeting(review_id, "2024-09-20")
        await self.call("POST", f"/reviews/{review_id}/posting", posted_on="2024-09-23")
        await self.call("POST", f"/reviews/{review_id}/recognition", recognised_on="2024-09-30")
        return review_id

    async def poverty_class(self, household_id: str) -> str:
        return str((await self.call("GET", f"/households/{household_id}"))["poverty_class"])


async def test_review_is_recognised_only_when_nothing_blocks_it(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    office = Office(households, data_dir)
    poor, complained, escaping = [await office.household() for _ in range(3)]
    await office.make_poor(escaping)
    review_id = await office.open_review([poor, complained, escaping])
    await office.assess(poor, "2024-09-10", POOR, review_id)
    await office.assess(complained, "2024-09-10", NEAR_POOR, review_id)
    await office.assess(escaping, "2024-09-10", MIDDLE_INCOME, review_id)

    assert await office.refused_recognition(review_id, "2024-09-11") == [
        "no village meeting recorded",
        "list not posted",
    ]
    meeting = await office.meeting(review_id, "2024-09-20")
    assert meeting["approved"] is True and meeting["review_stage"] == "meeting_approved"
    assert await office.refused_recognition(review_id, "2024-09-21") == ["list not posted"]
    posted = await office.call("POST", f"/reviews/{review_id}/posting", posted_on="2024-09-23")
    assert posted["posting_ends_on"] == "2024-09-25"  # 3 working days, the posting day first
    [too_early] = await office.refused_recognition(review_id, "2024-09-25")
    assert "posting period not ended until 2024-09-25" in too_early
    complaint = await office.call(
        "POST",
        "/complaints",
        201,
        household_id=complained,
        review_id=review_id,
        filed_on="2024-09-24",
        subject="Gia đình tôi thu nhập thấp hơn kết quả điều tra",
    )
    assert complaint["due_on"] == "2024-10-24"
    assert await office.refused_recognition(review_id, "2024-09-26") == [
        "1 complaint(s) unresolved"
    ]
    # The refusals changed nothing.
    review = await office.call("GET", f"/reviews/{review_id}?on=2024-09-26")
    assert (review["stage"], review["recognised_on"]) == ("posted", None)
    assert review["recognition_blockers"] == ["1 complaint(s) unresolved"]
    assert [await office.poverty_class(h) for h in (poor, complained, escaping)] == [
        "unclassified",
        "unclassified",
        "poor",
    ]

    resolved = await office.call(
        "POST",
        f"/complaints/{complaint['complaint_id']}/resolution",
        resolved_on="2024-09-27",
        outcome="upheld",
        corrected_class="poor",
        note="Điều tra lại: hộ nghèo",
    )
    assert resolved["class_changed"] is True
    assert await office.poverty_class(complained) == "unclassified"  # not before recognition
    recognition = await office.call(
        "POST", f"/reviews/{review_id}/recognition", recognised_on="2024-09-30"
    )
    assert {k: recognition[k] for k in ("households_reviewed", "poor", "near_poor", "escaped")} == {
        "households_reviewed": 3,
        "poor": 2,
        "near_poor": 0,
        "escaped": 1,
    }
    assert [await office.poverty_class(h) for h in (poor, complained, escaping)] == [
        "poor",
        "poor",
        "middle_income",
    ]
    await office.call("POST", f"/reviews/{review_id}/recognition", 409, recognised_on="2024-10-01")

    events = await read_events(
        topics,
        topic_for("households"),
        count=6,
        predicate=lambda e: (
            e.subject == review_id
            or (e.type == RECLASSIFIED and e.data.get("review_id") == review_id)
        ),
    )
    assert [event_name(e) for e in events if e.subject == review_id] == [
        "review_meeting_held",
        "review_list_posted",
        "review_recognised",
    ]
    recognised = next(e for e in events if event_name(e) == "review_recognised")
    assert (recognised.data["poor"], recognised.data["escaped"]) == (2, 1)
    moves = {
        e.subject: (e.data["from_class"], e.data["to_class"], e.data["basis"])
        for e in events
        if e.type == RECLASSIFIED
    }
    assert moves == {
        poor: ("unclassified", "poor", "periodic_review"),
        complained: ("unclassified", "poor", "periodic_review"),
        escaping: ("poor", "middle_income", "periodic_review"),
    }


async def test_a_rejected_meeting_sends_the_review_back_to_surveying(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    office = Office(households, data_dir)
    surveyed, late = await office.household(), await office.household()
    review_id = await office.open_review([surveyed, late])
    await office.assess(surveyed, "2024-09-10", POOR, review_id)
    refused = await office.meeting(review_id, "2024-09-20", expect=422)
    assert late in refused["detail"]  # a listed household has no assessment in this review
    await office.assess(late, "2024-09-12", NEAR_POOR, review_id)

    rejected = await office.meeting(review_id, "2024-09-20", agreeing=14)  # 14 of 30 < 50%
    assert (rejected["approved"], rejected["review_stage"]) == (False, "surveying")
    assert any("threshold 50% not reached" in reason for reason in rejected["reasons"])
    review = await office.call("GET", f"/reviews/{review_id}?on=2024-09-21")
    assert review["stage"] == "surveying"
    assert (
        "no approved village meeting: the meeting rejected the list"
        in review["recognition_blockers"]
    )
    await office.call("POST", f"/reviews/{review_id}/posting", 422, posted_on="2024-09-23")
    unchaired = await office.meeting(review_id, "2024-09-24", chaired_by_village_head=False)
    assert (unchaired["approved"], unchaired["review_stage"]) == (False, "surveying")

    await office.assess(late, "2024-09-25", POOR, review_id)  # the survey is redone
    approved = await office.meeting(review_id, "2024-09-27", agreeing=15)  # exactly 50%
    assert (approved["approved"], approved["review_stage"]) == (True, "meeting_approved")
    problem = await office.call(
        "POST", f"/reviews/{review_id}/posting", 422, posted_on="2024-09-26"
    )
    assert problem["errors"][0]["field"] == "body.posted_on"  # before the approving meeting
    review = await office.call("GET", f"/reviews/{review_id}")
    assert review["stage"] == "meeting_approved" and review["posted_on"] is None
    assert [h["review_class"] for h in review["households"] if h["household_id"] == late] == [
        "poor"
    ]

    events = await read_events(
        topics, topic_for("households"), count=3, predicate=lambda e: e.subject == review_id
    )
    assert [e.data["approved"] for e in events] == [False, False, True]
    assert events[1].data["chaired_by_village_head"] is False


async def test_a_complaint_upheld_after_recognition_reclassifies(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    office = Office(households, data_dir)
    household_id = await office.household()
    review_id = await office.recognised_review({household_id: POOR})
    assert await office.poverty_class(household_id) == "poor"
    complaint = await office.call(
        "POST",
        "/complaints",
        201,
        household_id=household_id,
        review_id=review_id,
        filed_on="2024-10-02",
        subject="Hộ đã có việc làm ổn định",
    )
    url = f"/complaints/{complaint['complaint_id']}/resolution"
    early = await office.call(
        "POST",
        url,
        422,
        resolved_on="2024-10-01",
        outcome="upheld",
        corrected_class="near_poor",
        note="Phúc tra",
    )
    assert early["errors"][0]["field"] == "body.resolved_on"

    resolved = await office.call(
        "POST",
        url,
        resolved_on="2024-10-10",
        outcome="upheld",
        corrected_class="near_poor",
        note="Phúc tra: hộ cận nghèo",
    )
    assert (resolved["status"], resolved["class_changed"]) == ("resolved", True)
    assert await office.poverty_class(household_id) == "near_poor"
    await office.call("POST", url, 409, resolved_on="2024-10-11", outcome="rejected", note="x")
    listed = await office.call(
        "GET", f"/complaints?commune_code={factories.COMMUNE_NHON_HUNG}&status=resolved"
    )
    assert [c["complaint_id"] for c in listed] == [complaint["complaint_id"]]

    events = await read_events(
        topics,
        topic_for("households"),
        count=2,
        predicate=lambda e: e.subject == household_id and e.type == RECLASSIFIED,
    )
    assert [(e.data["to_class"], e.data["basis"]) for e in events] == [
        ("poor", "periodic_review"),
        ("near_poor", "complaint"),
    ]


async def test_a_poor_household_registers_its_escape_from_poverty(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    office = Office(households, data_dir)
    household_id = await office.household()
    url = f"/households/{household_id}/escape-registrations"
    await office.call("POST", url, 422, registered_on="2024-02-01")  # not poor: nothing to leave
    await office.make_poor(household_id)

    escape = await office.call("POST", url, 201, registered_on="2024-04-01")
    assert (escape["from_class"], escape["to_class"]) == ("poor", "not_poor")
    assert await office.poverty_class(household_id) == "not_poor"
    await office.call("POST", url, 422, registered_on="2024-04-02")

    events = await read_events(
        topics,
        topic_for("households"),
        count=2,
        predicate=lambda e: (
            e.subject == household_id
            and event_name(e) in ("escape_registered", "household_reclassified")
            and e.data.get("basis") != "regular_review"
        ),
    )
    assert [event_name(e) for e in events] == ["escape_registered", "household_reclassified"]
    assert events[0].data["from_class"] == "poor"
    assert (events[1].data["to_class"], events[1].data["basis"]) == ("not_poor", "voluntary_escape")


async def test_an_application_decided_late_is_not_on_time(
    households: httpx.AsyncClient, topics: str, data_dir: Path
) -> None:
    office = Office(households, data_dir)
    waiting, fallen = await office.household(), await office.household()
    application = await office.call(
        "POST",
        "/applications",
        201,
        household_id=waiting,
        kind="reassessment",
        received_on="2024-03-01",
    )
    fell = await office.call(
        "POST",
        "/applications",
        201,
        household_id=fallen,
        kind="fall_into_poverty",
        received_on="2024-03-04",
    )
    assert application["due_on"] == "2024-03-16"  # 15 calendar days
    assert fell["due_on"] == "2024-03-13"  # 7 working days
    await office.call(
        "POST",
        "/applications",
        409,
        household_id=waiting,
        kind="leave_poverty",
        received_on="2024-03-02",
    )
    worklist = await office.call("GET", "/applications?overdue=true")
    assert [a["application_id"] for a in worklist] == [
        application["application_id"],
        fell["application_id"],
    ]

    url = f"/applications/{application['application_id']}/decision"
    early = await office.call(
        "POST", url, 422, decided_on="2024-02-28", outcome="refused", reason="Không đủ điều kiện"
    )
    assert early["errors"][0]["field"] == "body.decided_on"
    no_assessment = await office.call("POST", url, 422, decided_on="2024-03-20", outcome="approved")
    assert no_assessment["errors"][0]["field"] == "body.assessment_id"
    decided = await office.call(
        "POST",
        url,
        decided_on="2024-03-20",
        outcome="refused",
        reason="Thu nhập vượt chuẩn cận nghèo",
    )
    assert (decided["status"], decided["on_time"]) == ("decided", False)
    await office.call("POST", url, 409, decided_on="2024-03-21", outcome="refused", reason="x")
    worklist = await office.call("GET", "/applications?overdue=true")
    assert [a["application_id"] for a in worklist] == [fell["application_id"]]

    [event] = await read_events(
        topics,
        topic_for("households"),
        count=1,
        predicate=lambda e: event_name(e) == "application_decided" and e.subject == waiting,
    )
    assert (event.data["outcome"], event.data["on_time"], event.data["due_on"]) == (
        "refused",
        False,
        "2024-03-16",
    )


async def test_an_operator_of_another_commune_is_refused(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    office = Office(households, data_dir)
    household_id = await office.household(commune=factories.COMMUNE_AN_CU)
    review_id = await office.open_review([household_id], commune=factories.COMMUNE_AN_CU)
    other = Office(households, data_dir)
    other.headers = bearer(
        token(
            data_dir, "operator", services=("households",), communes=(factories.COMMUNE_NHON_HUNG,)
        )
    )

    await other.call(
        "POST",
        "/reviews",
        403,
        commune_code=factories.COMMUNE_AN_CU,
        village="Ấp 1",
        year=2024,
        opened_on="2024-09-03",
        household_ids=[household_id],
    )
    await other.meeting(review_id, "2024-09-20", expect=403)
    await other.call("GET", f"/reviews/{review_id}", 403)
    await other.call(
        "POST", f"/households/{household_id}/escape-registrations", 403, registered_on="2024-09-20"
    )
    assert await other.call("GET", "/reviews") == []
    assert [r["review_id"] for r in await office.call("GET", "/reviews")] == [review_id]


async def test_bad_review_input_is_refused_and_writes_nothing(
    households: httpx.AsyncClient, data_dir: Path
) -> None:
    office = Office(households, data_dir)
    household_id = await office.household()
    other_commune = await office.household(commune=factories.COMMUNE_AN_CU)
    review = {
        "commune_code": factories.COMMUNE_NHON_HUNG,
        "village": "Ấp Hòa Thuận",
        "year": 2024,
        "opened_on": "2024-09-03",
    }

    cases: list[tuple[dict[str, Any], str]] = [
        ({"opened_on": "2024-08-31"}, "body.opened_on"),
        ({"household_ids": [household_id, other_commune]}, "body.household_ids.1"),
        ({"household_ids": [household_id, household_id]}, "body.household_ids.1"),
        ({"household_ids": []}, "body.household_ids"),
    ]
    for change, field in cases:
        problem = await office.call(
            "POST", "/reviews", 422, **{**review, "household_ids": [household_id], **change}
        )
        assert problem["errors"][0]["field"] == field, problem
    assert await office.call("GET", "/reviews") == []
    review_id = await office.open_review([household_id])  # the same household, now listed
    missing = await office.call(
        "POST",
        f"/reviews/{review_id}/meetings",
        422,
        held_on="2024-09-20",
        invited_households=40,
        attendees=30,
        agreeing=20,
        chaired_by_village_head=True,
        supervised_by_fatherland_front=True,
    )
    assert missing["errors"][0]["field"] == "body.minutes"
    assert (await office.call("GET", f"/reviews/{review_id}"))["meetings"] == []
