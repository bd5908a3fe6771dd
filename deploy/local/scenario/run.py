"""What every stage of the scenario works with: the client, the progress bar of the stage,
the fault manifest, the households as registered, and the scenario's saved state.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.progress import Progress, TaskID

from deploy.local.district.survey import SurveyInputs
from deploy.local.scenario.client import PlatformClient, ScenarioError
from deploy.local.scenario.faults import MISCLASSIFIED_POOR, FaultManifest
from deploy.local.scenario.plan import Household, Member

STATE_FILE = "scenario-state.json"


class StageBar:
    """One stage's line in the progress display."""

    def __init__(self, progress: Progress, name: str) -> None:
        self.progress = progress
        self.name = name
        self.task: TaskID = progress.add_task(f"{name}: waiting", total=None, start=False)

    def begin(self, step: str, total: int | None = None) -> None:
        """Start (or restart) the bar for ``step``; ``total`` None shows a pulse."""
        self.progress.start_task(self.task)
        self.progress.reset(self.task, total=total, description=f"{self.name}: {step}")

    def advance(self, count: int = 1) -> None:
        self.progress.advance(self.task, count)

    def finish(self, summary: str) -> None:
        total = self.progress.tasks[self.task].total or 1
        self.progress.update(
            self.task,
            total=total,
            completed=total,
            description=f"[green]✓[/green] {self.name}: {summary}",
        )


@dataclass
class ScenarioState:
    """What a run saved in ``<data_dir>/scenario-state.json``: its size and finished stages."""

    path: Path
    seed: int
    households: int
    stages_done: list[str] = field(default_factory=list)
    finished: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> ScenarioState | None:
        path = data_dir / STATE_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            path,
            raw["seed"],
            raw["households"],
            raw.get("stages_done", []),
            raw.get("finished", False),
            raw.get("timings", {}),
        )

    def save(self) -> None:
        document = {
            "seed": self.seed,
            "households": self.households,
            "stages_done": self.stages_done,
            "finished": self.finished,
            "timings": self.timings,
        }
        self.path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    def done(self, stage: str, seconds: float) -> None:
        if stage not in self.stages_done:
            self.stages_done.append(stage)
        self.timings[stage] = round(seconds, 1)
        self.save()


def read_surveys(path: Path) -> dict[str, SurveyInputs]:
    """The generator's survey inputs (``<name>.assessments.csv``) by household_ref."""
    surveys: dict[str, SurveyInputs] = {}
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            indicators = tuple(i for i in row["deprived_indicators"].split(";") if i)
            surveys[row["household_ref"]] = SurveyInputs(
                date.fromisoformat(row["assessed_on"]),
                row["standard_code"],
                int(row["income_per_person_month"]),
                indicators,
            )
    return surveys


def household_of(item: dict[str, Any], survey: SurveyInputs) -> Household:
    """A ``HouseholdOut`` of the API with the survey generated for it."""
    since = item.get("class_since")
    members = tuple(
        Member(
            m["person_id"],
            m["sex"],
            date.fromisoformat(m["date_of_birth"]),
            m["ethnicity"],
            m["relation_to_head"],
            m.get("citizen_pseudonym"),
        )
        for m in item["members"]
    )
    return Household(
        item["household_id"],
        item["external_ref"],
        item["commune_code"],
        item["village"],
        item["area"],
        item.get("independent_since_year"),
        item["poverty_class"],
        date.fromisoformat(since) if since else None,
        members,
        survey,
    )


@dataclass
class ScenarioRun:
    """Everything the stages share during one run."""

    data_dir: Path
    seed: int
    size: int
    client: PlatformClient
    manifest: FaultManifest
    state: ScenarioState
    progress: Progress
    surveys: dict[str, SurveyInputs] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)  # by household_ref
    si_numbers: set[str] = field(default_factory=set)  # social insurance numbers given

    @property
    def district_csv(self) -> Path:
        return self.data_dir / "district-2019.csv"

    def bar(self, name: str) -> StageBar:
        return StageBar(self.progress, name)

    async def refresh_households(self, bar: StageBar | None = None) -> list[Household]:
        """Read every scenario household from the households API (classes included)."""
        if not self.surveys:
            self.surveys = read_surveys(
                self.district_csv.with_name(self.district_csv.stem + ".assessments.csv")
            )
        if bar is not None:
            bar.begin("reading the registry", total=len(self.surveys))
        found: dict[str, Household] = {}
        after: str | None = None
        while True:
            page = await self.client.get("households", "/households", limit=500, after=after)
            for item in page["items"]:
                survey = self.surveys.get(item.get("external_ref") or "")
                if survey is not None:
                    found[item["external_ref"]] = household_of(item, survey)
            if bar is not None:
                bar.advance(len(page["items"]))
            after = page["next_cursor"]
            if after is None:
                break
        if len(found) != len(self.surveys):
            raise ScenarioError(
                f"{len(self.surveys) - len(found)} generated households are "
                "not in the registry: run the registry import again"
            )
        self.households = found
        return list(found.values())

    def faulty_households(self) -> set[str]:
        """The misclassified household (fault e): kept out of the other programmes, so it
        shows in no figure but its own."""
        fault = self.manifest.planted(MISCLASSIFIED_POOR)
        return {fault["household_id"]} if fault else set()

    def by_id(self) -> dict[str, Household]:
        return {h.household_id: h for h in self.households.values()}
