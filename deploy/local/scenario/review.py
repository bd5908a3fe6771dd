"""Stages 1 and 2: the registry import and the 2019 periodic review, village by village.

Each village's review goes: open (September) listing its households → its surveys (the
generated assessments, with review_id), delivered as one file by the survey team and
recorded with one ``POST /imports/assessments`` → the village meeting → public posting →
complaints filed and answered → recognition by the commune chair after the posting
period (Nov–Dec), which reclassifies the households under Decision 59/2015. A review
already under way is taken up at its stage, so a re-run finishes what an interrupted one
left: it sends only the surveys the review lacks, and the import keys each survey
``<household_id>@<assessed_on>``, so a file sent again records none twice. Three faults
are planted here (see :mod:`deploy.local.scenario.faults`):

* (a) one village of :attr:`FAULTS.no_meeting` is surveyed, never meets, and a legacy
  system publishes its recognition (no meeting, hence no posting either);
* (b) one village of :attr:`FAULTS.early_recognition` meets and posts, and the legacy
  system publishes its recognition the day after the posting, inside the posting period;
* (e) one household of :attr:`FAULTS.misclassified` is recorded poor by an override on an
  income above the near-poverty line, and the list is recognised properly.

After the recognitions a few poor or near-poor households register voluntarily to leave
poverty (before any card is issued to them).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from deploy.local.district.generator import generate_district, write_district
from deploy.local.scenario.client import ScenarioError, broker_bootstrap, each
from deploy.local.scenario.faults import (
    MISCLASSIFIED_POOR,
    RECOGNITION_BEFORE_POSTING_ENDED,
    RECOGNITION_WITHOUT_MEETING,
    publish_rogue_recognition,
    recognition_payload,
    rogue_event_id,
)
from deploy.local.scenario.plan import (
    FAULTS,
    YEAR,
    Household,
    between,
    complaint_plan,
    meeting_minutes,
    meeting_turnout,
    misclassified_household,
    near_poverty_line,
    rng_for,
    survey_class,
    village_calendar,
)
from deploy.local.scenario.run import ScenarioRun, StageBar

MAX_LISTED = 2000  # households per listing request (the API's limit)
#: The columns of a village's survey file (a subset of the import's CSV columns).
SURVEY_COLUMNS = (
    "household_id",
    "review_id",
    "assessed_on",
    "standard_code",
    "income_per_person_month",
    "deprived_indicators",
    "recorded_class",
    "override_reason",
)
OVERRIDE_REASON = (
    "Trưởng ấp đề nghị giữ hộ trong danh sách hộ nghèo: chủ hộ bệnh nặng, "
    "chi phí điều trị lớn (thu nhập khai báo trên chuẩn cận nghèo)."
)


async def import_registry(run: ScenarioRun, bar: StageBar) -> str:
    """Stage 1: generate the district CSV and register it with one bulk import."""
    if not run.district_csv.exists():
        bar.begin(f"generating {run.size:,} households")
        write_district(run.district_csv, generate_district(run.seed, run.size, YEAR))
    bar.begin(f"POST /imports/households ({run.district_csv.name})")
    report = await run.client.upload_csv("households", "/imports/households", run.district_csv)
    await run.refresh_households(bar)
    return (
        f"{report['imported']:,} households imported, {report['skipped_existing']:,} "
        f"already there ({report['duration_seconds']:.0f} s)"
    )


def survey_file(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Survey bodies (``POST /households/{id}/assessments`` plus household_id) as the CSV
    file ``POST /imports/assessments`` takes: indicators ``;``-separated, absent values
    as empty cells."""
    out = io.StringIO()
    writer = csv.DictWriter(out, SURVEY_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {k: "" if v is None else v for k, v in row.items()}
        cells["deprived_indicators"] = ";".join(row.get("deprived_indicators") or ())
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


class VillageReview:
    """One village's 2019 review, driven to its end (or to its planted fault)."""

    def __init__(
        self,
        run: ScenarioRun,
        bar: StageBar,
        households: list[Household],
        existing: dict[str, Any] | None,
        fault: str | None,
        misclassified: str | None,
        complaints: dict[str, tuple[str, str]],
    ) -> None:
        self.run, self.bar, self.households = run, bar, households
        self.commune, self.village = households[0].place
        self.calendar = village_calendar(run.seed, self.commune, self.village)
        self.review_id: str | None = existing["review_id"] if existing else None
        self.fault, self.misclassified, self.complaints = fault, misclassified, complaints
        self.imported = self.skipped_existing = 0  # survey rows the import recorded / found

    async def play(self) -> None:
        if self._fault_planted():
            self.bar.advance(len(self.households))
            return
        if self.review_id is None:
            await self._open()
            review: dict[str, Any] = {"stage": "listing", "households": [], "complaints": []}
        else:
            review = await self._review()
        stage = review["stage"]
        if stage in ("listing", "surveying"):
            await self._survey(review)
            stage = "surveying"
        else:
            self.bar.advance(len(self.households))
        if stage == "recognised":
            return
        if self.fault == RECOGNITION_WITHOUT_MEETING:
            await self._rogue(await self._review(), self.calendar.posted_on + timedelta(days=5))
            return
        if stage == "surveying":
            await self._meet()
            stage = "meeting_approved"
        if stage == "meeting_approved":
            review = await self.run.client.post(
                "households",
                f"/reviews/{self.review_id}/posting",
                {"posted_on": self.calendar.posted_on.isoformat()},
            ) | {"complaints": []}
        posted_on = date.fromisoformat(review["posted_on"])
        ends_on = date.fromisoformat(review["posting_ends_on"])
        if self.fault == RECOGNITION_BEFORE_POSTING_ENDED:
            await self._rogue(
                await self._review(), posted_on + timedelta(days=1), (posted_on, ends_on)
            )
            return
        resolved = await self._complaints(review["complaints"], posted_on)
        await self.run.client.post(
            "households",
            f"/reviews/{self.review_id}/recognition",
            {"recognised_on": self.calendar.recognition_on(ends_on, resolved).isoformat()},
        )

    async def _open(self) -> None:
        ids = sorted(h.household_id for h in self.households)
        summary = await self.run.client.post(
            "households",
            "/reviews",
            {
                "commune_code": self.commune,
                "village": self.village,
                "year": YEAR,
                "opened_on": self.calendar.opened_on.isoformat(),
                "household_ids": ids[:MAX_LISTED],
            },
        )
        self.review_id = summary["review_id"]
        for start in range(MAX_LISTED, len(ids), MAX_LISTED):
            await self.run.client.post(
                "households",
                f"/reviews/{self.review_id}/households",
                {"household_ids": ids[start : start + MAX_LISTED]},
            )

    async def _seen_posted(self, within: float = 600.0) -> None:
        """Wait until the review's posting is on the ledger. The legacy system recognises a
        list it saw posted: published before the households relay has sent the meeting
        and the posting (it lags under load), its recognition would reach the audit first
        and be judged, for a moment, as one without any meeting — not the fault planted."""
        deadline = asyncio.get_running_loop().time() + within
        posted = "vn.ansinh.households.review_list_posted.v1"
        while True:
            trail = await self.run.client.get("audit", f"/trail/{self.review_id}", limit=500)
            if any(e["type"] == posted for e in trail["items"]):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise ScenarioError(
                    f"the posting of review {self.review_id} did not reach the audit ledger "
                    f"within {within:g} s"
                )
            await asyncio.sleep(0.5)

    async def _review(self) -> dict[str, Any]:
        review: dict[str, Any] = await self.run.client.get(
            "households", f"/reviews/{self.review_id}"
        )
        return review

    def _fault_planted(self) -> bool:
        return self.fault is not None and self.run.manifest.planted(self.fault) is not None

    async def _survey(self, review: dict[str, Any]) -> None:
        """Record the surveys not recorded yet with one import; then the manifest entry of
        the misclassified household if it lives here (also when an interrupted run
        recorded its survey but not the entry)."""
        assessed = {h["household_id"] for h in review["households"] if h["assessment_id"]}
        self.bar.advance(len(assessed))
        todo = [h for h in self.households if h.household_id not in assessed]
        if todo:
            await self._import_surveys(todo)
            self.bar.advance(len(todo))
        if not self.run.manifest.planted(MISCLASSIFIED_POOR):
            household = next(
                (h for h in self.households if h.household_id == self.misclassified), None
            )
            if household is not None:
                await self._note_misclassified(household)

    def _survey_row(self, household: Household) -> dict[str, Any]:
        assert self.review_id is not None
        row = household.assessment(
            self.calendar.assessed_on(household.survey.assessed_on), self.review_id
        )
        row["household_id"] = household.household_id
        if household.household_id == self.misclassified:
            row.update(recorded_class="poor", override_reason=OVERRIDE_REASON)
        return row

    async def _import_surveys(self, households: list[Household]) -> None:
        """One ``POST /imports/assessments`` of ``households``' surveys; every row must be
        recorded now or found recorded (a retried upload), none refused."""
        rows = len(households)
        where = f"the survey import of {self.village} ({self.commune}, review {self.review_id})"
        try:
            report = await self.run.client.upload_csv(
                "households",
                "/imports/assessments",
                survey_file(self._survey_row(h) for h in households),
            )
        except ScenarioError as exc:
            raise ScenarioError(f"{where} failed: {exc}", transient=exc.transient) from exc
        imported, skipped = report["imported"], report["skipped_existing"]
        if report["error_count"] or report["errors"] or imported + skipped != rows:
            raise ScenarioError(
                f"{where} recorded {imported} and found {skipped} of {rows} surveys "
                f"({report['error_count']} errors: {report['errors'][:3]})"
            )
        self.imported += imported
        self.skipped_existing += skipped

    async def _note_misclassified(self, household: Household) -> None:
        """Its overriding survey in this review, read back from the API for the manifest."""
        assessments = await self.run.client.get(
            "households", f"/households/{household.household_id}/assessments"
        )
        found = [
            a
            for a in assessments
            if a["review_id"] == self.review_id and a["recorded_class"] == "poor"
        ]
        if not found:
            raise ScenarioError(
                f"household {household.ref} has no survey recorded poor in review "
                f"{self.review_id}: the misclassification was not planted"
            )
        self._record_misclassified(household, found[-1])

    def _record_misclassified(self, household: Household, assessment: dict[str, Any]) -> None:
        self.run.manifest.record(
            MISCLASSIFIED_POOR,
            household.commune_code,
            [household.household_id, assessment["assessment_id"]],
            household_id=household.household_id,
            assessment_id=assessment["assessment_id"],
            review_id=self.review_id,
            village=self.village,
            income_per_person_month=household.survey.income_per_person_month,
            near_poverty_line=near_poverty_line(household),
            computed_class=assessment["computed_class"],
            recorded_class="poor",
            how="assessment with recorded_class 'poor' and an override_reason on an income "
            "above the near-poverty line, in a list met, posted and recognised properly",
        )

    async def _meet(self) -> None:
        turnout = meeting_turnout(
            self.run.seed, f"{self.commune}:{self.village}", len(self.households)
        )
        held_on = self.calendar.meeting_on
        result = await self.run.client.post(
            "households",
            f"/reviews/{self.review_id}/meetings",
            {
                "held_on": held_on.isoformat(),
                "invited_households": turnout.invited,
                "attendees": turnout.attendees,
                "agreeing": turnout.agreeing,
                "chaired_by_village_head": True,
                "supervised_by_fatherland_front": True,
                "minutes": meeting_minutes(self.village, turnout, held_on),
            },
        )
        if not result["approved"]:
            raise ScenarioError(
                f"the meeting of {self.village} did not approve: {result['reasons']}"
            )

    async def _complaints(self, complaints: list[dict[str, Any]], posted_on: date) -> date | None:
        """File this village's planned complaints, answer them; the last answer's day."""
        client, resolved = self.run.client, None
        filed = {c["household_id"]: c for c in complaints}
        for household in self.households:
            plan = self.complaints.get(household.ref)
            if plan is None:
                continue
            subject, outcome = plan
            complaint = filed.get(household.household_id) or await client.post(
                "households",
                "/complaints",
                {
                    "household_id": household.household_id,
                    "review_id": self.review_id,
                    "filed_on": (posted_on + timedelta(days=1)).isoformat(),
                    "subject": subject,
                },
            )
            filed_on = date.fromisoformat(complaint["filed_on"])
            answered = filed_on + timedelta(
                days=between(rng_for(self.run.seed, household.ref), 1, 4)
            )
            if complaint["status"] == "open":
                note = (
                    "Đã xác minh lại, giữ nguyên kết quả bình xét."
                    if outcome == "rejected"
                    else "Đã sửa thông tin trên danh sách niêm yết; hạng hộ không đổi."
                )
                await client.post(
                    "households",
                    f"/complaints/{complaint['complaint_id']}/resolution",
                    {"resolved_on": answered.isoformat(), "outcome": outcome, "note": note},
                )
            resolved = max(resolved or answered, answered)
        return resolved

    async def _rogue(
        self,
        review: dict[str, Any],
        recognised_on: date,
        posting: tuple[date, date] | None = None,
    ) -> None:
        assert self.fault is not None and self.review_id is not None
        meeting_id = review["approved_meeting_id"]
        payload = recognition_payload(
            review,
            recognised_on,
            meeting_id=meeting_id,
            posted_on=posting[0] if posting else None,
            posting_ends_on=posting[1] if posting else None,
        )
        event_id = rogue_event_id(self.run.seed, self.fault, self.review_id)
        if posting is not None:
            await self._seen_posted()
        await publish_rogue_recognition(broker_bootstrap(self.run.data_dir), payload, event_id)
        details: dict[str, Any] = {
            "review_id": self.review_id,
            "village": self.village,
            "event_id": event_id,
            "recognised_on": recognised_on,
            "meetings_held": len(review["meetings"]),
        }
        if posting:
            details.update(
                meeting_id=meeting_id,
                posted_on=posting[0],
                posting_ends_on=posting[1],
                how="review_recognised published by a legacy system the day after "
                "the posting, inside the posting period",
            )
        else:
            details.update(
                how="review_recognised published by a legacy system for a surveyed "
                "list no village meeting discussed (so never posted either)"
            )
        self.run.manifest.record(self.fault, self.commune, [self.review_id], **details)


def _fault_villages(groups: dict[tuple[str, str], list[Household]]) -> dict[tuple[str, str], str]:
    """The village of each rogue-recognition fault: its commune's smallest (first by name),
    so the fewest households are left without a recognised class."""
    chosen = {}
    for commune, kind in (
        (FAULTS.no_meeting, RECOGNITION_WITHOUT_MEETING),
        (FAULTS.early_recognition, RECOGNITION_BEFORE_POSTING_ENDED),
    ):
        places = [p for p in sorted(groups) if p[0] == commune]
        if not places:
            raise ScenarioError(f"commune {commune} has no households: play more households")
        chosen[min(places, key=lambda p: (len(groups[p]), p[1]))] = kind
    return chosen


async def play_review(run: ScenarioRun, bar: StageBar) -> str:
    """Stage 2: every village's periodic review of 2019, faults (a), (b) and (e) included."""
    households = await run.refresh_households()
    groups: dict[tuple[str, str], list[Household]] = defaultdict(list)
    for household in households:
        groups[household.place].append(household)
    faults = _fault_villages(groups)
    misclassified = misclassified_household(households, set(faults))
    normal = {
        p: [h.ref for h in hs]
        for p, hs in groups.items()
        if p not in faults and p[0] not in (FAULTS.misclassified, FAULTS.late_cards)
    }
    complaints = complaint_plan(run.seed, max(2, run.size // 3000), normal)
    existing = {
        (r["commune_code"], r["village"]): r
        for r in await run.client.get("households", "/reviews", year=YEAR)
    }
    bar.begin(
        f"{len(groups)} villages: survey import, meeting, posting, recognition",
        total=len(households),
    )
    reviews = [
        VillageReview(
            run,
            bar,
            groups[place],
            existing.get(place),
            faults.get(place),
            misclassified.household_id,
            complaints,
        )
        for place in sorted(groups)
    ]
    await each(reviews, VillageReview.play, width=6)
    imported = sum(r.imported for r in reviews)
    skipped = sum(r.skipped_existing for r in reviews)
    escaped = await register_escapes(run, bar)
    again = f" ({skipped:,} already recorded)" if skipped else ""
    return (
        f"{len(groups)} villages reviewed, {imported:,} surveys imported{again}, "
        f"{len(complaints)} complaints answered, {escaped} voluntary escapes"
    )


async def register_escapes(run: ScenarioRun, bar: StageBar) -> int:
    """A few households the review classed poor or near-poor register to leave poverty 3–8
    days after their recognition (before any card is issued to them). The same households
    are chosen on a re-run; one that already left is not registered twice."""
    households = await run.refresh_households()
    fault_communes = set(vars(FAULTS).values())
    candidates = sorted(
        (
            h
            for h in households
            if h.commune_code not in fault_communes and survey_class(h) in ("poor", "near_poor")
        ),
        key=lambda h: h.ref,
    )
    rng_for(run.seed, "escapes").shuffle(candidates)
    chosen = candidates[: max(2, run.size // 2500)]
    bar.begin("voluntary escape registrations", total=len(chosen))

    async def escape(household: Household) -> None:
        if household.poverty_class not in ("poor", "near_poor") or household.class_since is None:
            return  # registered by an earlier run
        delay = between(rng_for(run.seed, f"escape:{household.ref}"), 3, 8)
        await run.client.post(
            "households",
            f"/households/{household.household_id}/escape-registrations",
            {"registered_on": (household.class_since + timedelta(days=delay)).isoformat()},
        )

    await each(chosen, escape, advance=bar.advance, width=4)
    return len(chosen)
