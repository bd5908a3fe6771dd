"""Survey inputs of a generated household: income per person and lacking indicators.

Incomes are log-normal *relative to the poverty line in force* for the household's area,
so every standard sees a similar share of households near its lines; the parameters are
calibrated so that Decision 59/2015 (2016–2021) gives a poor rate of about 7–8% and a
near-poor rate of about 6–7% over Tịnh Biên (tests/deploy/unit/test_district.py checks 6–10% and
5–8%). Khmer households and households with many dependants earn less. Deprivations are
drawn per indicator with a probability that rises as income falls, so they concentrate
where the 2016 rule looks at them (between the poverty and near-poverty lines). All
figures are unconfirmed modelling choices, not survey statistics.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from random import Random
from typing import NamedTuple

from services.households.domain.standards import Area, PovertyStandard, standard_for

#: Mean of ln(income / poverty line) by area, and its spread.
LOG_INCOME_OVER_LINE: dict[str, float] = {"rural": 1.12, "urban": 1.22}
LOG_INCOME_SIGMA = 0.62
KHMER_LOG_INCOME_SHIFT = -0.30
DEPENDANTS_LOG_INCOME_SHIFT = -0.45  # per unit of (dependants / members) above 0.35
INCOME_ROUNDING_VND = 10_000

#: Share of households lacking each indicator when income sits at twice the poverty line;
#: names of both indicator sets (2016 and 2022), so any standard in force can be used.
# fmt: off
DEPRIVATION_BASE: dict[str, float] = {
    # Decision 59/2015
    "healthcare_access": 0.04, "health_insurance": 0.10, "adult_education": 0.12,
    "child_school_attendance": 0.10, "housing_quality": 0.10, "housing_area_per_person": 0.08,
    "water_source": 0.06, "hygienic_latrine": 0.18, "telecom_use": 0.04,
    "information_assets": 0.07,
    # Decree 07/2021 (and its successor) names not in the list above
    "employment": 0.06, "dependants": 0.10, "nutrition": 0.05, "school_attendance": 0.10,
    "water": 0.06, "latrine": 0.18, "telecom": 0.04,
}
# fmt: on
_CHILD_INDICATORS = frozenset({"child_school_attendance", "school_attendance"})
DEPRIVATION_INCOME_SLOPE = 1.15  # how fast the odds of lacking grow as ln(income) falls
KHMER_DEPRIVATION_SHIFT = 0.30
DEPRIVATION_CAP = 0.9


class SurveyInputs(NamedTuple):
    """What a survey of the household records: the inputs of an assessment."""

    assessed_on: date
    standard_code: str
    income_per_person_month: int
    deprived_indicators: tuple[str, ...]


class HouseholdFacts(NamedTuple):
    """What the survey model looks at."""

    area: str
    khmer: bool
    members: int
    dependants: int  # members under 15 or 60 and over
    school_age_children: int  # members aged 6-14


def assessment_date(rng: Random, year: int) -> date:
    """A day of the periodic review's survey weeks (September to November of `year`)."""
    start = date(year, 9, 1)
    return start + timedelta(days=int(rng.random() * (date(year, 12, 1) - start).days))


def _income(rng: Random, standard: PovertyStandard, facts: HouseholdFacts) -> int:
    mean = LOG_INCOME_OVER_LINE[facts.area]
    mean += KHMER_LOG_INCOME_SHIFT if facts.khmer else 0.0
    mean += DEPENDANTS_LOG_INCOME_SHIFT * (facts.dependants / facts.members - 0.35)
    line = standard.poverty_line[Area(facts.area)]
    raw = line * math.exp(rng.gauss(mean, LOG_INCOME_SIGMA))
    return max(INCOME_ROUNDING_VND, round(raw / INCOME_ROUNDING_VND) * INCOME_ROUNDING_VND)


def _deprivations(
    rng: Random, standard: PovertyStandard, facts: HouseholdFacts, income: int
) -> tuple[str, ...]:
    line = standard.poverty_line[Area(facts.area)]
    below_twice_line = math.log(2 * line / income)
    risk = math.exp(
        DEPRIVATION_INCOME_SLOPE * below_twice_line
        + (KHMER_DEPRIVATION_SHIFT if facts.khmer else 0.0)
        + rng.gauss(0.0, 0.4)
    )
    lacking = []
    for name in standard.indicators:
        if name in _CHILD_INDICATORS and facts.school_age_children == 0:
            continue
        if rng.random() < min(DEPRIVATION_CAP, DEPRIVATION_BASE[name] * risk):
            lacking.append(name)
    return tuple(lacking)


def survey(rng: Random, facts: HouseholdFacts, year: int) -> SurveyInputs:
    """Survey inputs for a household assessed in the periodic review of `year`, under the
    standard in force on the survey day (ValueError when no standard covers `year`)."""
    assessed_on = assessment_date(rng, year)
    standard = standard_for(assessed_on)
    income = _income(rng, standard, facts)
    return SurveyInputs(
        assessed_on, standard.code, income, _deprivations(rng, standard, facts, income)
    )
