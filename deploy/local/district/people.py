"""The people of a generated household: who lives together, their names, birth dates, IDs.

A head, usually a spouse, children (grandchildren when the head is 58 or older) and
sometimes the head's parents; 1–8 people, 3.8 on average. Every member has a citizen ID
(province 089) that agrees with their sex and birth year and is unique within one run:
IDs are issued to all ages, children included, as the 2023 Law on Identification provides.
"""

from __future__ import annotations

from bisect import bisect
from datetime import date
from random import Random
from typing import Any, NamedTuple

from deploy.local.district.data import CITIZEN_ID_PROVINCE
from deploy.local.district.names import Ethnicity, FamilyName, Sex, family_name, full_name

# Cumulative weights of household sizes 1..8 (weights 7, 15, 22, 25, 15, 9, 4.5, 2.5: mean 3.8).
_SIZE_CUMULATIVE = (7, 22, 44, 69, 84, 93, 97.5, 100)


class GeneratedPerson(NamedTuple):
    full_name: str
    sex: Sex
    date_of_birth: date
    ethnicity: Ethnicity
    citizen_id: str
    relation_to_head: str  # head, spouse, child, grandchild, parent

    def body(self) -> dict[str, Any]:
        """The member as ``PersonIn`` takes it (JSON-ready)."""
        return {
            "full_name": self.full_name,
            "sex": self.sex,
            "date_of_birth": self.date_of_birth.isoformat(),
            "ethnicity": self.ethnicity,
            "citizen_id": self.citizen_id,
            "relation_to_head": self.relation_to_head,
        }


class CitizenIdIssuer:
    """Citizen IDs unique within one run, in memory bounded by the number of birth years.

    The 6-digit serial of the n-th ID of a (sex, birth year) is ``offset + n × stride``
    modulo 10⁶; the stride is coprime with 10⁶, so serials repeat only after 10⁶ IDs.
    """

    _STRIDE = 387_429
    _SERIALS = 1_000_000

    def __init__(self, offset: int, province: str = CITIZEN_ID_PROVINCE) -> None:
        self._offset = offset % self._SERIALS
        self._province = province
        self._issued: dict[tuple[str, int], int] = {}

    def issue(self, sex: Sex, birth_year: int) -> str:
        """A new ID; OverflowError once a (sex, birth year) has used all 10⁶ serials."""
        if not 1900 <= birth_year <= 2099:
            raise ValueError(f"birth year {birth_year} is outside 1900-2099")
        n = self._issued.get((sex, birth_year), 0)
        if n >= self._SERIALS:
            raise OverflowError(f"all serials used for {sex} born in {birth_year}")
        self._issued[(sex, birth_year)] = n + 1
        serial = (self._offset + birth_year * 7_919 + n * self._STRIDE) % self._SERIALS
        century_sex = (birth_year // 100 - 19) * 2 + (1 if sex == "female" else 0)
        return f"{self._province}{century_sex}{birth_year % 100:02d}{serial:06d}"


class _Member(NamedTuple):
    relation: str
    sex: Sex
    age: int
    ethnicity: Ethnicity
    family: FamilyName


def _other(sex: Sex) -> Sex:
    return "female" if sex == "male" else "male"


def between(rng: Random, low: int, high: int) -> int:
    """An integer of [low, high], uniform (rng.randint is several times slower)."""
    return low + int(rng.random() * (high - low + 1))


def _head_age(rng: Random, size: int, elders: int, children: int) -> int:
    if size == 1:
        return round(rng.triangular(20, 88, 66))
    if elders:
        return round(rng.triangular(24, 55, 36))
    if children:
        return round(rng.triangular(24, 78, 42))
    return round(rng.triangular(21, 86, 60))


def _composition(rng: Random, ethnicity: Ethnicity) -> list[_Member]:
    """Relations, sexes and ages of one household's members (head first)."""
    size = 1 + bisect(_SIZE_CUMULATIVE, rng.random() * _SIZE_CUMULATIVE[-1])
    elders = 0
    if size >= 4 and rng.random() < 0.22:
        elders = 2 if size >= 6 and rng.random() < 0.4 else 1
    spouse = 1 if size - elders >= 2 and rng.random() < 0.88 else 0
    children = size - 1 - spouse - elders
    head_sex: Sex = "male" if rng.random() < (0.85 if spouse else 0.35) else "female"
    age = _head_age(rng, size, elders, children)
    family = family_name(rng, ethnicity)
    members = [_Member("head", head_sex, age, ethnicity, family)]
    children_family = family
    if spouse:
        mixed = rng.random() < 0.04
        kin: Ethnicity = ("Khmer" if ethnicity == "Kinh" else "Kinh") if mixed else ethnicity
        gap = between(rng, -2, 8)
        spouse_age = age - gap if head_sex == "male" else age + gap
        spouse_family = family_name(rng, kin)
        members.append(
            _Member("spouse", _other(head_sex), min(95, max(18, spouse_age)), kin, spouse_family)
        )
        if head_sex == "female":
            children_family = spouse_family if kin == ethnicity else family
    for index in range(children):
        sex: Sex = "male" if rng.random() < 0.51 else "female"
        if age >= 58 and index >= 2:
            members.append(
                _Member(
                    "grandchild",
                    sex,
                    between(rng, 0, min(17, age - 40)),
                    ethnicity,
                    children_family,
                )
            )
        else:
            child_age = age - between(rng, 19, min(42, age))
            members.append(_Member("child", sex, child_age, ethnicity, children_family))
    for index in range(elders):
        if elders == 2:
            sex = "male" if index == 0 else "female"
        else:  # a lone parent living with a child is more often a widow
            sex = "female" if rng.random() < 0.65 else "male"
        elder_family = family if sex == "male" else family_name(rng, ethnicity)
        members.append(
            _Member("parent", sex, min(97, age + between(rng, 20, 35)), ethnicity, elder_family)
        )
    return members


def _birth_date(rng: Random, age: int, year: int) -> date:
    # Ages are counted at the end of the year before `year`: every birth falls before it.
    born = year - 1 - age
    days = 366 if born % 4 == 0 and (born % 100 != 0 or born % 400 == 0) else 365
    return date.fromordinal(date(born, 1, 1).toordinal() + int(rng.random() * days))


def household_members(
    rng: Random, ids: CitizenIdIssuer, ethnicity: Ethnicity, year: int
) -> tuple[GeneratedPerson, ...]:
    """The members of a new household whose head is of `ethnicity`, ages as of `year` (head
    first); birth dates fall before `year`."""
    people = []
    for m in _composition(rng, ethnicity):
        born = _birth_date(rng, m.age, year)
        people.append(
            GeneratedPerson(
                full_name(rng, m.sex, m.family),
                m.sex,
                born,
                m.ethnicity,
                ids.issue(m.sex, born.year),
                m.relation,
            )
        )
    return tuple(people)
