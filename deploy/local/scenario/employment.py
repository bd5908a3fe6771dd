"""Stage 4: the year's jobs and vocational training, against the district's plan.

Targets for 2019 (4,000 placements, 200 rural trainees in a district of 30,000 households;
in proportion for other sizes) are set for district 890 and spread over its communes by
population. Each rural commune runs one elementary course; its trainees, members of the
commune's rural households with the poor and near-poor first, enrol through the bulk
import, most complete with a certificate, one drops out where the course is large enough,
and most graduates find a job within weeks. Placements — a little over each commune's
target, every worker placed once in the year, the poor and near-poor first — are spread
from January to December and recorded through the bulk import.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from random import Random
from typing import Any

from deploy.local.district.data import COMMUNES, commune_profile
from deploy.local.scenario.client import ScenarioError, each
from deploy.local.scenario.plan import (
    DISTRICT,
    PLAN_PLACEMENTS,
    PLAN_RURAL_TRAINEES,
    YEAR,
    Household,
    Member,
    between,
    commune_targets,
    delivered,
    rng_for,
    scaled,
)
from deploy.local.scenario.run import ScenarioRun, StageBar

TRADES = (
    "May công nghiệp",
    "Sửa chữa xe máy",
    "Trồng nấm rơm",
    "Chăn nuôi bò sinh sản",
    "Đan đát lục bình",
    "Kỹ thuật xây dựng",
    "Nấu ăn",
)
PROVIDER = "Trung tâm Giáo dục nghề nghiệp – Giáo dục thường xuyên huyện Tịnh Biên"
EMPLOYERS = (
    "Công ty TNHH Giày da Mỹ Phong (KCN Xuân Tô)",
    "Công ty CP Thủy sản Nam Việt",
    "Công ty TNHH May mặc An Giang",
    "Hợp tác xã nông nghiệp Tịnh Biên",
    "Công ty CP Xi măng An Giang",
    "Công ty TNHH Pouyuen Việt Nam",
)
EXPORT_COUNTRIES = ("JP", "KR", "TW")
PRIORITY_SHARE = 0.35  # of each commune's placements, for poor and near-poor members


def _working_age(household: Household) -> list[Member]:
    start = date(YEAR, 1, 1)
    return [m for m in household.members if 18 <= m.age_on(start) <= 55]


def _pick(
    rng: Random, households: list[Household], wanted: int, taken: set[str], priority_share: float
) -> list[Member]:
    """``wanted`` members not yet taken, ``priority_share`` of them (or as many as there
    are) from poor and near-poor households."""

    def pool(priority: bool) -> list[Member]:
        members = sorted(
            (
                m
                for h in households
                if (h.poverty_class in ("poor", "near_poor")) == priority
                for m in _working_age(h)
                if m.person_id not in taken
            ),
            key=lambda m: m.person_id,
        )
        rng.shuffle(members)
        return members

    first = pool(True)[: round(wanted * priority_share)]
    rest = pool(False)[: wanted - len(first)]
    chosen = first + rest
    if len(chosen) < wanted:
        chosen += pool(True)[len(first) : len(first) + wanted - len(chosen)]
    taken.update(m.person_id for m in chosen)
    return chosen


class EmploymentPlan:
    """Who trains and who is placed, commune by commune (deterministic from the seed)."""

    def __init__(self, run: ScenarioRun) -> None:
        self.placements = scaled(PLAN_PLACEMENTS, run.size, minimum=len(COMMUNES))
        self.rural_trainees = scaled(PLAN_RURAL_TRAINEES, run.size, minimum=10)
        self.placement_targets = commune_targets(self.placements)
        self.trainee_targets = commune_targets(self.rural_trainees, rural_only=True)
        by_commune: dict[str, list[Household]] = {}
        for household in run.households.values():
            if household.household_id not in run.faulty_households():
                by_commune.setdefault(household.commune_code, []).append(household)
        self.trainees: dict[str, list[Member]] = {}
        self.placed: dict[str, list[Member]] = {}
        for commune in COMMUNES:
            rng, taken = rng_for(run.seed, f"employment:{commune.code}"), set[str]()
            households = by_commune.get(commune.code, [])
            target = self.trainee_targets.get(commune.code, 0)
            enrolled = target + (1 if target >= 5 else 0)
            self.trainees[commune.code] = _pick(rng, households, enrolled, taken, 1.0)
            self.placed[commune.code] = _pick(
                rng,
                households,
                delivered(self.placement_targets[commune.code]),
                taken,
                PRIORITY_SHARE,
            )
            if len(self.trainees[commune.code]) < enrolled or len(
                self.placed[commune.code]
            ) < delivered(self.placement_targets[commune.code]):
                raise ScenarioError(
                    f"commune {commune.code} has too few working-age members "
                    "for its targets: play more households"
                )


def _course(seed: int, commune_code: str, seats: int) -> dict[str, Any]:
    rng = rng_for(seed, f"course:{commune_code}")
    starts_on = date(YEAR, 3, 4) + timedelta(days=between(rng, 0, 120))
    return {
        "trade": rng.choice(TRADES),
        "provider": PROVIDER,
        "commune_code": commune_code,
        "level": "elementary",
        "starts_on": starts_on.isoformat(),
        "ends_on": (starts_on + timedelta(days=between(rng, 55, 80))).isoformat(),
        "capacity": seats + 2,
        "cost_per_trainee": between(rng, 20, 40) * 100_000,
    }


def _placement(
    seed: int, commune_code: str, index: int, worker_id: str, placed_on: date
) -> list[str]:
    rng = rng_for(seed, f"placement:{commune_code}:{index}")
    draw = rng.random()
    employer, country = "", ""
    if draw < 0.55:
        kind, wage, employer = "domestic_employer", between(rng, 45, 75), rng.choice(EMPLOYERS)
    elif draw < 0.63:
        kind, wage, country = "labour_export", between(rng, 230, 320), rng.choice(EXPORT_COUNTRIES)
    elif draw < 0.90:
        kind, wage = "self_employment", between(rng, 30, 50)
    else:
        kind, wage = "public_works", between(rng, 30, 40)
        employer = commune_profile(commune_code).full_name
        employer = f"UBND {employer}"
    return [
        f"TB{YEAR}-{commune_code}-{index:05d}",
        worker_id,
        kind,
        placed_on.isoformat(),
        employer,
        country,
        str(wage * 100_000),
    ]


async def _workers(
    run: ScenarioRun, bar: StageBar, registrations: dict[str, date]
) -> dict[str, str]:
    """Worker ids by person id: the ones registered before, and the others registered now."""
    known = {
        w["person_id"]: w["worker_id"] for w in await run.client.pages("employment", "/workers")
    }
    todo = sorted(p for p in registrations if p not in known)
    bar.begin(f"registering {len(todo):,} workers", total=len(todo))

    async def register(person_id: str) -> None:
        body = {"person_id": person_id, "registered_on": registrations[person_id].isoformat()}
        for _ in range(60):
            response = await run.client.request(
                "employment", "POST", "/workers", json=body, accept=(201, 422)
            )
            if response.status_code == 201:
                known[person_id] = response.json()["worker_id"]
                return
            if "not known from the households registry" not in response.text:
                break
            await asyncio.sleep(1.0)  # the person's event is still on its way
        raise ScenarioError(f"worker {person_id} refused: {response.text[:300]}")

    await each(todo, register, advance=bar.advance, width=12)
    return known


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


async def play_employment(run: ScenarioRun, bar: StageBar) -> str:
    """Stage 4: targets, workers, courses and enrolments, completions, placements."""
    bar.begin("waiting for the registry (events settling)")
    await run.client.settle(["employment"])
    plan = EmploymentPlan(run)
    await _set_targets(run, plan)
    courses = await _courses(run, plan)
    registrations: dict[str, date] = {}
    for commune, trainees in plan.trainees.items():
        if trainees:
            starts_on = date.fromisoformat(courses[commune]["starts_on"])
            for member in trainees:
                registrations[member.person_id] = starts_on - timedelta(days=20)
    placed_on = _placement_days(run.seed, plan, courses)
    for person_id, day in placed_on.items():
        registrations.setdefault(person_id, max(date(YEAR, 1, 2), day - timedelta(days=30)))
    workers = await _workers(run, bar, registrations)
    trained = await _train(run, bar, plan, courses, workers)
    rows = [
        [
            "placement_ref",
            "worker_id",
            "kind",
            "placed_on",
            "employer",
            "destination_country",
            "monthly_wage",
        ]
    ]
    for commune in sorted(plan.placed):
        for index, member in enumerate(plan.placed[commune]):
            rows.append(
                _placement(
                    run.seed, commune, index, workers[member.person_id], placed_on[member.person_id]
                )
            )
        for index, member in enumerate(trained.get(commune, []), start=len(plan.placed[commune])):
            rows.append(
                _placement(
                    run.seed, commune, index, workers[member.person_id], placed_on[member.person_id]
                )
            )
    bar.begin(f"POST /imports/placements ({len(rows) - 1:,} rows)")
    report = await run.client.upload_csv("employment", "/imports/placements", _csv(rows))
    progress = await run.client.get(
        "employment", f"/targets/{YEAR}/{DISTRICT}/progress", as_of=date(YEAR, 12, 31).isoformat()
    )
    return (
        f"{progress['placements']['achieved']:,} placements of "
        f"{progress['placements']['target']:,} planned, "
        f"{progress['rural_trainees']['achieved']} rural trainees of "
        f"{progress['rural_trainees']['target']} ({report['imported']:,} rows imported)"
    )


def _placement_days(
    seed: int, plan: EmploymentPlan, courses: dict[str, dict[str, Any]]
) -> dict[str, date]:
    """When each placed worker got the job: spread over the year; graduates after the
    course (most of them)."""
    days: dict[str, date] = {}
    for members in plan.placed.values():
        for member in members:
            rng = rng_for(seed, f"placed:{member.person_id}")
            days[member.person_id] = date(YEAR, 1, 15) + timedelta(days=between(rng, 0, 335))
    for commune, members in plan.trainees.items():
        if members:
            ends_on = date.fromisoformat(courses[commune]["ends_on"])
            for member in members:
                rng = rng_for(seed, f"graduate:{member.person_id}")
                days[member.person_id] = ends_on + timedelta(days=between(rng, 7, 50))
    return days


async def _set_targets(run: ScenarioRun, plan: EmploymentPlan) -> None:
    await run.client.put(
        "employment",
        f"/targets/{YEAR}/{DISTRICT}",
        {
            "placements": plan.placements,
            "trainees": plan.rural_trainees,
            "rural_trainees": plan.rural_trainees,
        },
    )
    for commune in COMMUNES:
        trainees = plan.trainee_targets.get(commune.code, 0)
        await run.client.put(
            "employment",
            f"/targets/{YEAR}/{commune.code}",
            {
                "placements": plan.placement_targets[commune.code],
                "trainees": trainees,
                "rural_trainees": trainees,
            },
        )


async def _courses(run: ScenarioRun, plan: EmploymentPlan) -> dict[str, dict[str, Any]]:
    """One course per rural commune with trainees: the 2019 one already opened, or a new one."""
    existing = {
        c["commune_code"]: c for c in await run.client.get("employment", "/courses", year=YEAR)
    }
    courses: dict[str, dict[str, Any]] = {}
    for commune, trainees in sorted(plan.trainees.items()):
        if trainees:
            courses[commune] = existing.get(commune) or await run.client.post(
                "employment", "/courses", _course(run.seed, commune, len(trainees))
            )
    return courses


async def _train(
    run: ScenarioRun,
    bar: StageBar,
    plan: EmploymentPlan,
    courses: dict[str, dict[str, Any]],
    workers: dict[str, str],
) -> dict[str, list[Member]]:
    """Enrol (bulk import), then complete or drop out; the graduates placed, by commune."""
    rows = [["course_id", "worker_id", "enrolled_on"]]
    for commune, course in courses.items():
        starts_on = date.fromisoformat(course["starts_on"])
        for member in plan.trainees[commune]:
            rows.append(
                [
                    course["course_id"],
                    workers[member.person_id],
                    (starts_on - timedelta(days=3)).isoformat(),
                ]
            )
    bar.begin(f"POST /imports/enrolments ({len(rows) - 1} rows)")
    await run.client.upload_csv("employment", "/imports/enrolments", _csv(rows))
    enrolments = [
        (commune, e)
        for commune, course in courses.items()
        for e in await run.client.get("employment", f"/courses/{course['course_id']}/enrolments")
    ]
    bar.begin("course completions", total=len(enrolments))
    by_worker = {w: p for p, w in workers.items()}
    graduates: dict[str, list[Member]] = {}
    members = {m.person_id: m for ms in plan.trainees.values() for m in ms}

    async def finish(item: tuple[str, dict[str, Any]]) -> None:
        commune, enrolment = item
        course, member = courses[commune], members[by_worker[enrolment["worker_id"]]]
        drops = len(plan.trainees[commune]) >= 5 and member == plan.trainees[commune][-1]
        if enrolment["status"] == "enrolled" and drops:
            dropped_on = date.fromisoformat(enrolment["enrolled_on"]) + timedelta(days=12)
            await run.client.post(
                "employment",
                f"/enrolments/{enrolment['enrolment_id']}/drop-out",
                {"dropped_on": dropped_on.isoformat(), "reason": "family"},
            )
        elif enrolment["status"] == "enrolled":
            number = f"TB-{YEAR}-{commune}-{enrolment['enrolment_id'][:8].upper()}"
            await run.client.post(
                "employment",
                f"/enrolments/{enrolment['enrolment_id']}/completion",
                {"completed_on": course["ends_on"], "certificate_number": number},
            )
        if not drops and rng_for(run.seed, f"job:{member.person_id}").random() < 0.6:
            graduates.setdefault(commune, []).append(member)

    await each(enrolments, finish, advance=bar.advance, width=8)
    return {c: sorted(ms, key=lambda m: m.person_id) for c, ms in graduates.items()}
