"""The poverty standards, re-implemented so the audit can re-check households' classes.

This is audit's deliberate, independent re-check of ``services/households/domain/standards.py``:
written from docs/domain.md, never imported from the households service, because an audit that
borrowed the code it checks would agree with every bug in it. The two writings must give
the same targeting class; tests/audit/unit/test_monitoring_domain.py
(``test_the_audits_copy_agrees_with_the_households_service``) checks that they do.

Pure rules: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

#: The classes that decide who gets what; middle-income and not-poor both count as "other"
#: (no benefit turns on the difference, and the middle-income band is weakly sourced).
TARGETING_CLASSES = ("poor", "near_poor")

INDICATORS_2016 = frozenset(
    {
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
    }
)
INDICATORS_2022 = frozenset(
    {
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
    }
)


@dataclass(frozen=True)
class PovertyLine:
    """One instrument's lines (VND per person per month) and rule, in force on its dates."""

    instrument: str
    valid_from: date
    valid_to: date
    poverty_line: Mapping[str, int]
    near_poverty_line: Mapping[str, int] | None  # only the 2016 income-band rule has one
    indicators: frozenset[str]
    deprivation_threshold: int = 3

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_to


POVERTY_LINES: tuple[PovertyLine, ...] = (
    PovertyLine(
        "Decision 59/2015/QĐ-TTg (through 2021 by Decree 07/2021/NĐ-CP)",
        date(2016, 1, 1),
        date(2021, 12, 31),
        {"rural": 700_000, "urban": 900_000},
        {"rural": 1_000_000, "urban": 1_300_000},
        INDICATORS_2016,
    ),
    PovertyLine(
        "Decree 07/2021/NĐ-CP (kept for 2026 by Decree 351/2025/NĐ-CP)",
        date(2022, 1, 1),
        date(2026, 12, 31),
        {"rural": 1_500_000, "urban": 2_000_000},
        None,
        INDICATORS_2022,
    ),
    PovertyLine(
        "Decree 351/2025/NĐ-CP (indicator list unconfirmed: as 2022–2026)",
        date(2027, 1, 1),
        date(2030, 12, 31),
        {"rural": 2_200_000, "urban": 2_800_000},
        None,
        INDICATORS_2022,
    ),
)


def poverty_line_on(on: date) -> PovertyLine | None:
    """The standard in force on ``on`` (None outside 2016–2030)."""
    return next((line for line in POVERTY_LINES if line.in_force(on)), None)


def targeting_class(poverty_class: str) -> str:
    """poor, near_poor, or other (middle-income, not poor, unclassified)."""
    return poverty_class if poverty_class in TARGETING_CLASSES else "other"


def expected_class(
    area: str, income_per_person_month: int, deprived: Iterable[str], on: date
) -> str | None:
    """poor, near_poor or other under the standard in force on ``on``; None if none is.

    Only indicators the standard defines count as deprivations.
    """
    line = poverty_line_on(on)
    if line is None or area not in line.poverty_line:
        return None
    deprivations = len(set(deprived) & line.indicators)
    many = deprivations >= line.deprivation_threshold
    income, poverty = income_per_person_month, line.poverty_line[area]
    if line.near_poverty_line is None:  # 2022 onwards: income under the line, then count
        if income > poverty:
            return "other"
        return "poor" if many else "near_poor"
    if income <= poverty:
        return "poor"
    if income > line.near_poverty_line[area]:
        return "other"
    return "poor" if many else "near_poor"


def misclassified(recorded_class: str, expected: str | None) -> bool:
    """True when the recorded class is not the one the standard gives (None: not checkable)."""
    return expected is not None and targeting_class(recorded_class) != expected
