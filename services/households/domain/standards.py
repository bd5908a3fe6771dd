"""Poverty standards as dated data, and the classification of one household under one of them.

Pure: standard library only. Every figure that changes over time lives in `STANDARDS`
(a row per legal instrument, with its validity dates), never inside `classify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal


class PovertyClass(StrEnum):
    POOR = "poor"
    NEAR_POOR = "near_poor"
    MIDDLE_INCOME = "middle_income"
    NOT_POOR = "not_poor"


class Area(StrEnum):
    RURAL = "rural"
    URBAN = "urban"


ClassificationRule = Literal["income_band_2016", "multidimensional_2022"]


class UnknownIndicator(ValueError):
    """A deprivation indicator name that the applied standard does not define."""


class UnknownStandard(KeyError, ValueError):
    """No standard has the requested code. Catchable as KeyError or ValueError."""

    def __str__(self) -> str:
        # KeyError would repr() the message, wrapping it in quotes.
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class MiddleIncomeBand:
    """Per-area band `lower_exclusive < income ≤ upper_inclusive`, in force on its own dates."""

    valid_from: date
    valid_to: date
    lower_exclusive: dict[Area, int] = field(hash=False)
    upper_inclusive: dict[Area, int] = field(hash=False)
    weakly_sourced: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if self.valid_from > self.valid_to:
            raise ValueError(f"middle-income band valid_from {self.valid_from} > {self.valid_to}")
        for area in Area:
            if self.lower_exclusive[area] >= self.upper_inclusive[area]:
                raise ValueError(f"middle-income band for {area} is empty")

    def covers(self, on: date) -> bool:
        """True when the band is in force on `on`."""
        return self.valid_from <= on <= self.valid_to


@dataclass(frozen=True)
class PovertyStandard:
    """One legal instrument's poverty standard: income lines (VND/person/month) and indicators."""

    code: str
    title: str
    short_name: str
    valid_from: date
    valid_to: date
    poverty_line: dict[Area, int] = field(hash=False)
    near_poverty_line: dict[Area, int] | None = field(hash=False)
    indicators: tuple[str, ...]
    rule: ClassificationRule
    deprivation_threshold: int = 3
    middle_income_bands: tuple[MiddleIncomeBand, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.valid_from > self.valid_to:
            raise ValueError(f"{self.code}: valid_from {self.valid_from} > {self.valid_to}")
        if set(self.poverty_line) != set(Area):
            raise ValueError(f"{self.code}: poverty_line needs every area")
        if len(set(self.indicators)) != len(self.indicators):
            raise ValueError(f"{self.code}: duplicate indicators")
        if self.rule == "income_band_2016":
            if self.near_poverty_line is None or set(self.near_poverty_line) != set(Area):
                raise ValueError(f"{self.code}: rule income_band_2016 needs a near_poverty_line")
            for area in Area:
                if self.near_poverty_line[area] <= self.poverty_line[area]:
                    raise ValueError(f"{self.code}: near-poverty line ≤ poverty line for {area}")

    def in_force(self, on: date) -> bool:
        """True when this standard applies on `on`."""
        return self.valid_from <= on <= self.valid_to

    def middle_income_band_on(self, on: date | None) -> MiddleIncomeBand | None:
        """The middle-income band in force on `on`, if any (none when `on` is None)."""
        if on is None:
            return None
        return next((b for b in self.middle_income_bands if b.covers(on)), None)


_INDICATORS_2016 = (
    "healthcare_access",
    "health_insurance",
    "adult_education",
    "child_school_attendance",
    "housing_quality",
    "housing_area_per_person",
    "water_source",
    "hygienic_latrine",
    "telecom_use",
    "information_assets",
)

# Six dimensions, two indicators each: employment, health, education, housing, water and
# sanitation, information.
_INDICATORS_2022 = (
    "employment",
    "dependants",
    "nutrition",
    "health_insurance",
    "adult_education",
    "school_attendance",
    "housing_quality",
    "housing_area_per_person",
    "water",
    "latrine",
    "telecom",
    "information_assets",
)

_MIDDLE_INCOME_2022_2025 = MiddleIncomeBand(
    valid_from=date(2022, 1, 1),
    valid_to=date(2025, 12, 31),
    lower_exclusive={Area.RURAL: 1_500_000, Area.URBAN: 2_000_000},
    upper_inclusive={Area.RURAL: 2_250_000, Area.URBAN: 3_000_000},
    weakly_sourced=True,
    note="middle-income band 2022–2025 is weakly sourced; verify before relying on it",
)

STANDARDS: tuple[PovertyStandard, ...] = (
    PovertyStandard(
        code="QD-59-2015",
        title="Decision 59/2015/QĐ-TTg",
        short_name="Decision 59/2015",
        valid_from=date(2016, 1, 1),
        valid_to=date(2021, 12, 31),
        poverty_line={Area.RURAL: 700_000, Area.URBAN: 900_000},
        near_poverty_line={Area.RURAL: 1_000_000, Area.URBAN: 1_300_000},
        indicators=_INDICATORS_2016,
        rule="income_band_2016",
        notes=("applied 2016–2020, continued through 2021 by Decree 07/2021/NĐ-CP",),
    ),
    PovertyStandard(
        code="ND-07-2021",
        title="Decree 07/2021/NĐ-CP",
        short_name="Decree 07/2021",
        valid_from=date(2022, 1, 1),
        valid_to=date(2026, 12, 31),
        poverty_line={Area.RURAL: 1_500_000, Area.URBAN: 2_000_000},
        near_poverty_line=None,
        indicators=_INDICATORS_2022,
        rule="multidimensional_2022",
        middle_income_bands=(_MIDDLE_INCOME_2022_2025,),
        notes=("applied 2022–2025, kept for 2026 by Decree 351/2025/NĐ-CP",),
    ),
    PovertyStandard(
        code="ND-351-2025",
        title="Decree 351/2025/NĐ-CP",
        short_name="Decree 351/2025",
        valid_from=date(2027, 1, 1),
        valid_to=date(2030, 12, 31),
        poverty_line={Area.RURAL: 2_200_000, Area.URBAN: 2_800_000},
        near_poverty_line=None,
        indicators=_INDICATORS_2022,
        rule="multidimensional_2022",
        notes=("indicator list unconfirmed: copied from Decree 07/2021/NĐ-CP",),
    ),
)


def standard_for(on: date) -> PovertyStandard:
    """The standard in force on `on`; ValueError naming the date when none is."""
    for standard in STANDARDS:
        if standard.in_force(on):
            return standard
    first, last = STANDARDS[0].valid_from, STANDARDS[-1].valid_to
    raise ValueError(
        f"no poverty standard in force on {on.isoformat()} "
        f"(standards cover {first.isoformat()} to {last.isoformat()})"
    )


def standard_by_code(code: str) -> PovertyStandard:
    """The standard with this code; UnknownStandard (a KeyError and ValueError) otherwise."""
    for standard in STANDARDS:
        if standard.code == code:
            return standard
    known = ", ".join(s.code for s in STANDARDS)
    raise UnknownStandard(f"unknown poverty standard code {code!r} (known: {known})")


@dataclass(frozen=True)
class Classification:
    """The class a standard gives a household, with the evidence in plain sentences."""

    standard_code: str
    poverty_class: PovertyClass
    deprivation_count: int
    deprived_indicators: tuple[str, ...]
    reasons: tuple[str, ...]


def _vnd(amount: int) -> str:
    return f"{amount:,}"


def _deprived(
    standard: PovertyStandard, deprivations: Mapping[str, bool] | Iterable[str]
) -> tuple[str, ...]:
    """Sorted names of the lacking indicators, after checking every name against the standard."""
    if isinstance(deprivations, str):
        raise TypeError("deprivations must be a mapping or a collection of names, not one string")
    if isinstance(deprivations, Mapping):
        named = list(deprivations)
        lacking = {name for name, deprived in deprivations.items() if deprived}
    else:
        named = list(deprivations)
        lacking = set(named)
    known = set(standard.indicators)
    for name in named:
        if name not in known:
            raise UnknownIndicator(
                f"indicator {name!r} is not defined by poverty standard {standard.code}"
            )
    return tuple(sorted(lacking))


def _deprivation_reason(standard: PovertyStandard, deprived: tuple[str, ...]) -> str:
    listed = f" ({', '.join(deprived)})" if deprived else ""
    relation = "≥" if len(deprived) >= standard.deprivation_threshold else "<"
    return (
        f"{len(deprived)} deprivations{listed} {relation} threshold "
        f"{standard.deprivation_threshold} ({standard.short_name})"
    )


def _classify_income_band_2016(
    standard: PovertyStandard, area: Area, income: int, deprived: tuple[str, ...]
) -> tuple[PovertyClass, list[str]]:
    assert standard.near_poverty_line is not None  # guaranteed by PovertyStandard.__post_init__
    line, near_line = standard.poverty_line[area], standard.near_poverty_line[area]
    cite = standard.short_name
    if income <= line:
        return PovertyClass.POOR, [
            f"income {_vnd(income)} ≤ {area} poverty line {_vnd(line)} ({cite})"
        ]
    if income > near_line:
        return PovertyClass.NOT_POOR, [
            f"income {_vnd(income)} > {area} near-poverty line {_vnd(near_line)} ({cite})"
        ]
    reasons = [
        f"{area} poverty line {_vnd(line)} < income {_vnd(income)} ≤ "
        f"{area} near-poverty line {_vnd(near_line)} ({cite})",
        _deprivation_reason(standard, deprived),
    ]
    if len(deprived) >= standard.deprivation_threshold:
        return PovertyClass.POOR, reasons
    return PovertyClass.NEAR_POOR, reasons


def _classify_multidimensional(
    standard: PovertyStandard, area: Area, income: int, deprived: tuple[str, ...], on: date | None
) -> tuple[PovertyClass, list[str]]:
    line, cite = standard.poverty_line[area], standard.short_name
    if income <= line:
        reasons = [
            f"income {_vnd(income)} ≤ {area} poverty line {_vnd(line)} ({cite})",
            _deprivation_reason(standard, deprived),
        ]
        if len(deprived) >= standard.deprivation_threshold:
            return PovertyClass.POOR, reasons
        return PovertyClass.NEAR_POOR, reasons
    reasons = [f"income {_vnd(income)} > {area} poverty line {_vnd(line)} ({cite})"]
    band = standard.middle_income_band_on(on)
    if band is None:
        when = "no assessment date given" if on is None else f"on {on.isoformat()}"
        reasons.append(f"no middle-income band in force ({when})")
        return PovertyClass.NOT_POOR, reasons
    lower, upper = band.lower_exclusive[area], band.upper_inclusive[area]
    inside = lower < income <= upper
    caveat = ", weakly sourced" if band.weakly_sourced else ""
    span = f"{band.valid_from.isoformat()} to {band.valid_to.isoformat()}{caveat}"
    relation = "inside" if inside else "outside"
    reasons.append(
        f"income {_vnd(income)} {relation} {area} middle-income band "
        f"{_vnd(lower)} < income ≤ {_vnd(upper)} ({span})"
    )
    return (PovertyClass.MIDDLE_INCOME if inside else PovertyClass.NOT_POOR), reasons


def classify(
    standard: PovertyStandard,
    area: Area | str,
    income_per_person_month: int,
    deprivations: Mapping[str, bool] | Iterable[str],
    on: date | None = None,
) -> Classification:
    """Classify one household under `standard`.

    `deprivations` is either {indicator: lacking?} or the names of the lacking indicators;
    every name must belong to the standard (UnknownIndicator otherwise). `on` is the
    assessment date: a middle-income band applies only when its own dates cover it, so with
    `on=None` a household above the line is NOT_POOR. Income is whole VND per person per
    month; a float is a TypeError, a negative amount a ValueError.
    """
    if isinstance(income_per_person_month, bool) or not isinstance(income_per_person_month, int):
        raise TypeError(
            f"income_per_person_month must be an int (VND), got "
            f"{type(income_per_person_month).__name__}"
        )
    if income_per_person_month < 0:
        raise ValueError(f"income_per_person_month must be ≥ 0, got {income_per_person_month}")
    area = Area(area)
    deprived = _deprived(standard, deprivations)
    if standard.rule == "income_band_2016":
        poverty_class, reasons = _classify_income_band_2016(
            standard, area, income_per_person_month, deprived
        )
    else:
        poverty_class, reasons = _classify_multidimensional(
            standard, area, income_per_person_month, deprived, on
        )
    return Classification(
        standard_code=standard.code,
        poverty_class=poverty_class,
        deprivation_count=len(deprived),
        deprived_indicators=deprived,
        reasons=tuple(reasons),
    )
