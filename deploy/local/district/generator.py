"""A synthetic Tịnh Biên: households, members and survey inputs, reproducible from a seed.

``generate_district(seed, households, year)`` streams households one at a time (memory
does not grow with the count, so a province-sized run of 500,000 is fine), commune by
commune in proportion to their populations. Everything is drawn from one
``random.Random(seed)``: the same seed gives the same households, byte for byte in files.

Members, names and citizen IDs come from :mod:`deploy.local.district.people`, survey
inputs (income, lacking indicators) from :mod:`deploy.local.district.survey`, units and
commune profiles from :mod:`deploy.local.district.data`. The import endpoint rejects
unknown fields, so survey inputs are written to a separate CSV, a row per household.

CLI: :data:`generate_app` (mounted as ``ansinh generate``) or :func:`main_generate`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Annotated, Any, NamedTuple, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from deploy.local.district.data import COMMUNES, CommuneProfile
from deploy.local.district.names import Ethnicity
from deploy.local.district.people import (
    CitizenIdIssuer,
    GeneratedPerson,
    between,
    household_members,
)
from deploy.local.district.survey import HouseholdFacts, SurveyInputs, survey
from services.households.domain.standards import (
    Classification,
    PovertyClass,
    classify,
    standard_by_code,
    standard_for,
)

DEFAULT_SEED = 2019
DISTRICT_HOUSEHOLDS = 30_000
PROVINCE_HOUSEHOLDS = 500_000

#: Columns of the person-row CSV the households import reads (one row per member).
CSV_COLUMNS = (
    "household_ref",
    "commune_code",
    "village",
    "address",
    "area",
    "registered_on",
    "independent_since_year",
    "full_name",
    "sex",
    "date_of_birth",
    "ethnicity",
    "citizen_id",
    "relation_to_head",
)
#: Columns of the survey-inputs CSV (one row per household).
ASSESSMENT_COLUMNS = (
    "household_ref",
    "assessed_on",
    "standard_code",
    "income_per_person_month",
    "deprived_indicators",
)


class GeneratedHousehold(NamedTuple):
    household_ref: str
    commune_code: str
    village: str
    address: str
    area: str
    registered_on: date
    independent_since_year: int | None
    ethnicity: Ethnicity  # the head's
    members: tuple[GeneratedPerson, ...]
    survey: SurveyInputs

    def body(self) -> dict[str, Any]:
        """The household as ``POST /households`` takes it (``HouseholdIn``, JSON-ready)."""
        return {
            "commune_code": self.commune_code,
            "village": self.village,
            "address": self.address,
            "area": self.area,
            "registered_on": self.registered_on.isoformat(),
            "independent_since_year": self.independent_since_year,
            "members": [m.body() for m in self.members],
        }

    def import_object(self) -> dict[str, Any]:
        """One object of a JSON/NDJSON import file: the body plus ``household_ref``."""
        return {"household_ref": self.household_ref, **self.body()}

    def csv_rows(self) -> Iterator[list[str]]:
        """One row per member in :data:`CSV_COLUMNS` order."""
        since = "" if self.independent_since_year is None else str(self.independent_since_year)
        shared = [
            self.household_ref,
            self.commune_code,
            self.village,
            self.address,
            self.area,
            self.registered_on.isoformat(),
            since,
        ]
        for m in self.members:
            yield [
                *shared,
                m.full_name,
                m.sex,
                m.date_of_birth.isoformat(),
                m.ethnicity,
                m.citizen_id,
                m.relation_to_head,
            ]

    def assessment_row(self) -> list[str]:
        """The survey inputs in :data:`ASSESSMENT_COLUMNS` order (indicators ``;``-separated)."""
        s = self.survey
        return [
            self.household_ref,
            s.assessed_on.isoformat(),
            s.standard_code,
            str(s.income_per_person_month),
            ";".join(s.deprived_indicators),
        ]

    def classification(self) -> Classification:
        """The class the survey inputs give under the standard they were drawn for."""
        s = self.survey
        return classify(
            standard_by_code(s.standard_code),
            self.area,
            s.income_per_person_month,
            s.deprived_indicators,
            on=s.assessed_on,
        )


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder; sums to `total`)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _address(rng: Random, commune: CommuneProfile, village: str) -> str:
    if commune.township:
        return f"Số {between(rng, 1, 250)}, {village}, Thị trấn {commune.name}"
    return f"Tổ {between(rng, 1, 12)}, {village}, Xã {commune.name}"


def _household(
    rng: Random, ids: CitizenIdIssuer, commune: CommuneProfile, ref: str, year: int
) -> GeneratedHousehold:
    ethnicity: Ethnicity = "Khmer" if rng.random() < commune.khmer_share else "Kinh"
    village = commune.villages[int(rng.random() * len(commune.villages))]
    people = household_members(rng, ids, ethnicity, year)
    head_born = people[0].date_of_birth.year
    since: int | None = min(year, max(1975, head_born + between(rng, 18, 32)))
    if rng.random() < 0.02:
        since = None  # not recorded
    ages = [year - 1 - p.date_of_birth.year for p in people]
    facts = HouseholdFacts(
        area=commune.area,
        khmer=ethnicity == "Khmer",
        members=len(people),
        dependants=sum(1 for a in ages if a < 15 or a >= 60),
        school_age_children=sum(1 for a in ages if 6 <= a <= 14),
    )
    return GeneratedHousehold(
        household_ref=ref,
        commune_code=commune.code,
        village=village,
        address=_address(rng, commune, village),
        area=commune.area,
        registered_on=date(year, 1, 2) + timedelta(days=between(rng, 0, 88)),
        independent_since_year=since,
        ethnicity=ethnicity,
        members=people,
        survey=survey(rng, facts, year),
    )


def generate_district(seed: int, households: int, year: int = 2019) -> Iterator[GeneratedHousehold]:
    """`households` households of Tịnh Biên's 14 units, surveyed in the review of `year`.

    Streams commune by commune (counts proportional to population); refs are
    ``TB-<commune code>-<n>``, registration dates in the first quarter of `year`, survey
    dates in September–November. ValueError, at once, for a negative count or a `year` no
    poverty standard covers.
    """
    if households < 0:
        raise ValueError(f"households must be ≥ 0, got {households}")
    standard_for(date(year, 10, 1))
    return _households(seed, households, year)


def _households(seed: int, households: int, year: int) -> Iterator[GeneratedHousehold]:
    rng = Random(seed)
    ids = CitizenIdIssuer(offset=rng.randrange(1_000_000))
    counts = apportion(households, [c.population for c in COMMUNES])
    number = 0
    for commune, count in zip(COMMUNES, counts, strict=True):
        for _ in range(count):
            number += 1
            yield _household(rng, ids, commune, f"TB-{commune.code}-{number:07d}", year)


def generate_province(
    seed: int, households: int = PROVINCE_HOUSEHOLDS, year: int = 2019
) -> Iterator[GeneratedHousehold]:
    """A province-sized run for benchmarks: Tịnh Biên's 14 units and mix scaled up to
    `households` (other districts are not modelled), streamed in bounded memory."""
    return generate_district(seed, households, year)


# ----------------------------------------------------------------------------- files


def _csv_writer(stream: TextIO, header: Sequence[str]) -> Any:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    return writer


def write_households_csv(path: Path, households: Iterable[GeneratedHousehold]) -> int:
    """Write the person-row CSV the households import reads; return the households written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = _csv_writer(stream, CSV_COLUMNS)
        for household in households:
            writer.writerows(household.csv_rows())
            count += 1
    return count


def _ndjson_line(household: GeneratedHousehold) -> str:
    return json.dumps(household.import_object(), ensure_ascii=False, separators=(",", ":"))


def write_households_ndjson(path: Path, households: Iterable[GeneratedHousehold]) -> int:
    """Write one import object per line (NDJSON); return the households written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        for household in households:
            stream.write(_ndjson_line(household) + "\n")
            count += 1
    return count


def write_assessments_csv(path: Path, households: Iterable[GeneratedHousehold]) -> int:
    """Write the survey inputs, a row per household; return the households written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = _csv_writer(stream, ASSESSMENT_COLUMNS)
        for household in households:
            writer.writerow(household.assessment_row())
            count += 1
    return count


def assessments_path(households_path: Path) -> Path:
    """Where :func:`write_district` puts the survey inputs: ``<stem>.assessments.csv``."""
    return households_path.with_name(households_path.stem + ".assessments.csv")


def write_district(path: Path, households: Iterable[GeneratedHousehold]) -> int:
    """In one pass, the households (CSV, or NDJSON for a ``.ndjson``/``.jsonl`` path) to
    `path` and their survey inputs to :func:`assessments_path`; return the households."""
    ndjson = path.suffix.lower() in (".ndjson", ".jsonl")
    count = 0
    with (
        path.open("w", encoding="utf-8", newline="") as out,
        assessments_path(path).open("w", encoding="utf-8", newline="") as survey_out,
    ):
        rows = None if ndjson else _csv_writer(out, CSV_COLUMNS)
        surveys = _csv_writer(survey_out, ASSESSMENT_COLUMNS)
        for household in households:
            if rows is None:
                out.write(_ndjson_line(household) + "\n")
            else:
                rows.writerows(household.csv_rows())
            surveys.writerow(household.assessment_row())
            count += 1
    return count


# ------------------------------------------------------------------------------- CLI

generate_app = typer.Typer(add_completion=False, help="Generate a synthetic Tịnh Biên.")


@dataclass
class _Tally:
    households: int = 0
    persons: int = 0
    poor: int = 0
    near_poor: int = 0
    standards: set[str] = field(default_factory=set)

    def add(self, household: GeneratedHousehold) -> None:
        self.households += 1
        self.persons += len(household.members)
        found = household.classification().poverty_class
        self.poor += found is PovertyClass.POOR
        self.near_poor += found is PovertyClass.NEAR_POOR
        self.standards.add(household.survey.standard_code)

    def summary(self) -> str:
        share = max(1, self.households)
        return (
            f"{self.households:,} households, {self.persons:,} persons; poor "
            f"{self.poor / share:.1%}, near-poor {self.near_poor / share:.1%} under "
            f"{', '.join(sorted(self.standards)) or '-'}"
        )


@generate_app.callback(invoke_without_command=True)
def generate(
    seed: Annotated[int, typer.Option(help="The same seed gives the same files.")] = DEFAULT_SEED,
    households: Annotated[
        int, typer.Option(min=0, help="How many households.")
    ] = DISTRICT_HOUSEHOLDS,
    out: Annotated[
        Path,
        typer.Option(
            dir_okay=False,
            help=(
                "Households file, .csv or .ndjson/.jsonl; survey inputs go next to it as "
                "<name>.assessments.csv."
            ),
        ),
    ] = Path(".data/district.csv"),
    year: Annotated[int, typer.Option(help="Year of the periodic review surveyed.")] = 2019,
) -> None:
    """Write a district's households and their survey inputs, ready for the bulk import."""
    try:
        stream = generate_district(seed, households, year)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--year") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    tally = _Tally()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"generating {out.name}", total=households)

        def tracked() -> Iterator[GeneratedHousehold]:
            for household in stream:
                tally.add(household)
                if tally.households % 1_000 == 0:
                    progress.update(task, completed=tally.households)
                yield household

        write_district(out, tracked())
    typer.echo(f"{out} and {assessments_path(out).name}: {tally.summary()}")


def main_generate(argv: Sequence[str] | None = None) -> int:
    """Run :func:`generate` with command-line arguments `argv`; return the exit code."""
    try:
        generate_app(args=list(argv) if argv is not None else None, prog_name="ansinh generate")
    except SystemExit as exc:  # click's standalone mode always ends with sys.exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
