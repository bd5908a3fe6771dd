"""The 2019 plan of Tịnh Biên, played through the real APIs of a running platform.

``ansinh seed`` (and ``ansinh up`` once every service is ready) calls :func:`seed_district`:

1. **registry** — the district generated from the seed (:mod:`deploy.local.district.generator`) to
   ``<data_dir>/district-2019.csv`` and registered with one ``POST /imports/households``;
2. **review** — each village's periodic review: survey, village meeting, posting,
   complaints, recognition in Nov–Dec under Decision 59/2015; then a few voluntary
   escapes (:mod:`deploy.local.scenario.review`);
Then, side by side (each programme follows the recognitions on its own):

3. **insurance** — a card for every person the recognitions entitled, and the agency's
   duplicate (:mod:`deploy.local.scenario.insurance`);
4. **employment** — targets, workers, courses, enrolments, placements
   (:mod:`deploy.local.scenario.employment`);
5. **housing** — applications, approval lists, loans, construction
   (:mod:`deploy.local.scenario.housing`).

Five deliberate faults are planted and listed in ``<data_dir>/scenario-faults.json``
(:mod:`deploy.local.scenario.faults`); nothing else breaks a rule. A stage already done
(``<data_dir>/scenario-state.json``) is skipped; an interrupted one is taken up where the
platform's data says it stopped. A platform whose registry holds households the scenario
did not put there is left alone ("already seeded").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from deploy.local.district.generator import DEFAULT_SEED, DISTRICT_HOUSEHOLDS
from deploy.local.launcher import Platform
from deploy.local.scenario.client import PlatformClient, ScenarioError, each
from deploy.local.scenario.employment import play_employment
from deploy.local.scenario.faults import MANIFEST_FILE, FaultManifest
from deploy.local.scenario.housing import play_housing
from deploy.local.scenario.insurance import issue_cards
from deploy.local.scenario.plan import AS_OF, YEAR
from deploy.local.scenario.review import import_registry, play_review
from deploy.local.scenario.run import ScenarioRun, ScenarioState, StageBar
from shared.events import SERVICES

SMALL_HOUSEHOLDS = 300
STAGE_ATTEMPTS = 3
Stage = Callable[[ScenarioRun, StageBar], Awaitable[str]]
#: In order: the registry, then the review that classifies it.
FIRST_STAGES: tuple[tuple[str, Stage], ...] = (
    ("registry", import_registry),
    ("review", play_review),
)
#: Side by side once the review is recognised: each programme reacts to it on its own.
PROGRAMME_STAGES: tuple[tuple[str, Stage], ...] = (
    ("insurance", issue_cards),
    ("employment", play_employment),
    ("housing", play_housing),
)
STAGES = FIRST_STAGES + PROGRAMME_STAGES


class Profile(StrEnum):
    """How big a district to play: Tịnh Biên's 30,000 households, or a few hundred."""

    DISTRICT = "district"
    SMALL = "small"

    @property
    def households(self) -> int:
        return DISTRICT_HOUSEHOLDS if self is Profile.DISTRICT else SMALL_HOUSEHOLDS


async def _registry_has_households(client: PlatformClient) -> bool:
    page = await client.get("households", "/households", limit=1)
    return bool(page["items"])


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def seed_district(
    data_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    households: int = DISTRICT_HOUSEHOLDS,
    console: Console | None = None,
    concurrency: int = 6,
) -> str:
    """Play the scenario on the platform running on ``data_dir``; a one-line outcome.

    "already seeded" when a finished run (or data from elsewhere) is there. Raises
    ScenarioError when the platform refuses something the scenario needs.
    """
    console = console or Console()
    started = time.monotonic()
    state = ScenarioState.load(data_dir)
    async with PlatformClient.open(data_dir, concurrency) as client:
        if state is not None and state.finished:
            return f"already seeded ({state.households:,} households, seed {state.seed})"
        if state is None and await _registry_has_households(client):
            return "already seeded (the registry holds households)"
        if state is None:
            state = ScenarioState(data_dir / "scenario-state.json", seed, households)
            state.save()
        elif (state.seed, state.households) != (seed, households):
            console.print(
                f"Resuming the run of seed {state.seed} with {state.households:,} households.",
                highlight=False,
            )
        scenario = {
            "seed": state.seed,
            "households": state.households,
            "year": YEAR,
            "as_of": AS_OF.isoformat(),
        }
        with _progress(console) as progress:
            run = ScenarioRun(
                data_dir,
                state.seed,
                state.households,
                client,
                FaultManifest.in_dir(data_dir, scenario),
                state,
                progress,
            )
            await _play(run)
        state.finished = True
        state.save()
    # The programme stages run side by side: the wall-clock time of this run, not the sum.
    total = time.monotonic() - started
    return (
        f"seeded {state.households:,} households in {total:,.0f} s; faults listed in "
        f"{data_dir / MANIFEST_FILE}"
    )


async def _play(run: ScenarioRun) -> None:
    bars = {name: run.bar(name) for name, _ in STAGES}
    for name, stage in FIRST_STAGES:
        await _stage(run, name, stage, bars[name])
    await run.refresh_households()
    await each(  # side by side; the first failure cancels the others
        PROGRAMME_STAGES,
        lambda named: _stage(run, named[0], named[1], bars[named[0]]),
        width=len(PROGRAMME_STAGES),
    )
    closing = run.bar("events")
    closing.begin("waiting until every service has consumed everything")
    started = time.monotonic()
    await run.client.settle()
    run.manifest.scenario["seeded_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    run.manifest.save()
    closing.finish(f"settled [{time.monotonic() - started:.0f} s]")


async def _stage(run: ScenarioRun, name: str, stage: Stage, bar: StageBar) -> None:
    """Play one stage unless an earlier run finished it; record its time.

    A stage resumes from what the platform holds, so after a transient failure (a service
    overloaded, e.g. SQLite busy for longer than its timeout) it is simply played again.
    """
    if name in run.state.stages_done:
        bar.finish(f"done before ({run.state.timings.get(name, 0):.0f} s)")
        return
    started = time.monotonic()
    for attempt in range(1, STAGE_ATTEMPTS + 1):
        try:
            summary = await stage(run, bar)
            break
        except ScenarioError as error:
            if not error.transient or attempt == STAGE_ATTEMPTS:
                raise
            bar.begin(f"resuming after a failure ({error})")
            await asyncio.sleep(5.0 * attempt)
    seconds = time.monotonic() - started
    run.state.done(name, seconds)
    bar.finish(f"{summary} [{seconds:.0f} s]")


# ------------------------------------------------------------------------------- CLI


@dataclass(frozen=True)
class SeedOnStart:
    """The 2019 scenario as ``ansinh up`` plays it once every service is ready (Seeding)."""

    households: int = 3_000
    #: The plan's last day: the audit judges the 2019 cards as of then, not today.
    audit_date: date | None = AS_OF

    def play(self, platform: Platform) -> None:
        """Play the scenario once (skipped when the data is there), printing progress.

        A failure is reported and the platform keeps running: `ansinh seed` resumes it.
        """
        console = platform.console
        if set(platform.services) != set(SERVICES):
            console.print("Not seeding: the 2019 scenario needs all five services.")
            return
        console.print("\n[bold]Seeding the 2019 scenario of Tịnh Biên…[/bold]")
        try:
            outcome = asyncio.run(
                seed_district(platform.data_dir, households=self.households, console=console)
            )
        except (ScenarioError, httpx.HTTPError) as error:
            console.print("[bold red]✗[/bold red] seeding stopped: ", end="")
            console.print(str(error), markup=False, highlight=False, soft_wrap=True)
            console.print("The platform keeps running; `ansinh seed` resumes the scenario.")
            return
        console.print(f"[green]✓[/green] {outcome}", highlight=False)


DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="ANSINH_DATA_DIR",
        file_okay=False,
        help="Data directory of the running platform.",
    ),
]


def seed_command(
    seed: Annotated[int, typer.Option(help="The same seed plays the same year.")] = DEFAULT_SEED,
    households: Annotated[
        int | None, typer.Option(min=1, help="How many households (default: the profile's).")
    ] = None,
    profile: Annotated[
        Profile,
        typer.Option(help="district: 30,000 households; small: 300, every stage and fault."),
    ] = Profile.DISTRICT,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Requests in flight per service.")
    ] = 6,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Play Tịnh Biên's 2019 plan through the running platform's APIs (once)."""
    console = Console()
    try:
        outcome = asyncio.run(
            seed_district(
                data_dir,
                seed=seed,
                households=households or profile.households,
                console=console,
                concurrency=concurrency,
            )
        )
    except ScenarioError as error:
        Console(stderr=True).print(
            f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from error
    console.print(outcome, highlight=False)
