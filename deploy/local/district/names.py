"""Realistic Kinh and Khmer personal names of the Mekong Delta, drawn from a seeded RNG.

Kinh names are family + middle + given name, family names weighted roughly by their
frequency in the South (Nguyễn about a third). Khmer names in An Giang mostly take the
prefix "Chau" for men and "Néang" for women instead of a family name (e.g. "Chau Sóc Kha",
"Néang Sa Ly"); other Khmer families carry a Vietnamese-style family name such as Thạch,
Sơn or Danh in front of Khmer given names. The lists are illustrative, not exhaustive.
"""

from __future__ import annotations

from bisect import bisect
from itertools import accumulate
from random import Random
from typing import Literal, NamedTuple

Sex = Literal["male", "female"]
Ethnicity = Literal["Kinh", "Khmer"]

# fmt: off
KINH_FAMILY_NAMES: dict[str, int] = {
    "Nguyễn": 32, "Trần": 11, "Lê": 9, "Huỳnh": 6, "Phạm": 6, "Võ": 5, "Phan": 4,
    "Trương": 2, "Bùi": 2, "Đặng": 2, "Đỗ": 2, "Ngô": 2, "Hồ": 2, "Dương": 2, "Lý": 2,
    "Đinh": 1, "Lâm": 2, "Mai": 1, "Tô": 1, "Châu": 1, "Cao": 1, "Đoàn": 1, "Tạ": 1,
}
KINH_MIDDLE_NAMES: dict[Sex, dict[str, int]] = {
    "male": {"Văn": 50, "Hữu": 8, "Minh": 10, "Thanh": 8, "Quốc": 6, "Hoàng": 5, "Công": 4,
             "Tấn": 5, "Ngọc": 4},
    "female": {"Thị": 50, "Ngọc": 12, "Thanh": 8, "Kim": 8, "Mỹ": 6, "Bích": 5, "Thu": 5,
               "Hồng": 6},
}
KINH_GIVEN_NAMES: dict[Sex, tuple[str, ...]] = {
    "male": ("An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hậu", "Hiếu", "Hùng", "Khánh",
             "Lộc", "Long", "Minh", "Nam", "Nghĩa", "Phát", "Phúc", "Quang", "Sang", "Sơn",
             "Tài", "Tâm", "Thắng", "Thành", "Tín", "Toàn", "Trung", "Tuấn", "Việt", "Vinh"),
    "female": ("Anh", "Cúc", "Diễm", "Dung", "Hà", "Hằng", "Hạnh", "Hoa", "Hồng", "Hương",
               "Kiều", "Lan", "Lệ", "Linh", "Loan", "Mai", "Ngân", "Nhi", "Nhung", "Phương",
               "Thảo", "Thủy", "Trang", "Trinh", "Tuyết", "Vân", "Xuân", "Yến"),
}
# In An Giang most Khmer men's names start with "Chau", most women's with "Néang".
KHMER_PREFIXES: dict[Sex, str] = {"male": "Chau", "female": "Néang"}
KHMER_FAMILY_NAMES: tuple[str, ...] = ("Thạch", "Sơn", "Danh", "Kim", "Lâm", "Trương", "Lý")
KHMER_SYLLABLES: dict[Sex, tuple[str, ...]] = {
    "male": ("Sóc", "Kha", "Phol", "Ra", "Thi", "Mách", "Sang", "Vanh", "Hol", "Rết",
             "Chanh", "Pích", "Sươl", "Sết", "Đa", "Som", "Kol", "Sơ", "Ponl", "Thươl"),
    "female": ("Sa", "Ly", "Phi", "Rinh", "Ni", "Ry", "Na", "Thy", "Da", "Sô", "Phia",
               "Sóc", "Ty", "Kim", "Srây", "Mây", "Pha", "Rây", "Ninh", "Sa Rươl"),
}
# fmt: on

#: Every word a Khmer name generated here can start with.
KHMER_LEADING_NAMES = frozenset({*KHMER_PREFIXES.values(), *KHMER_FAMILY_NAMES})

_CHAU_NEANG_SHARE = 0.75  # Khmer families named with the prefix rather than a family name


class Weighted:
    """Draws one of `table`'s keys with probability proportional to its value."""

    def __init__(self, table: dict[str, int]) -> None:
        self._items = tuple(table)
        self._cumulative = tuple(accumulate(table.values()))

    def draw(self, rng: Random) -> str:
        return self._items[bisect(self._cumulative, rng.random() * self._cumulative[-1])]


_KINH_FAMILY = Weighted(KINH_FAMILY_NAMES)
_KINH_MIDDLE = {sex: Weighted(table) for sex, table in KINH_MIDDLE_NAMES.items()}


def _pick(rng: Random, items: tuple[str, ...]) -> str:
    # rng.choice is several times slower; the draw is the same kind (uniform).
    return items[int(rng.random() * len(items))]


class FamilyName(NamedTuple):
    """How a household's members are named: its ethnicity and, if any, its family name."""

    ethnicity: Ethnicity
    family: str | None  # None: Khmer "Chau"/"Néang" names, nothing is inherited


def family_name(rng: Random, ethnicity: Ethnicity) -> FamilyName:
    """A new family's naming: a Kinh family name, or a Khmer prefix or family name."""
    if ethnicity == "Kinh":
        return FamilyName("Kinh", _KINH_FAMILY.draw(rng))
    if rng.random() < _CHAU_NEANG_SHARE:
        return FamilyName("Khmer", None)
    return FamilyName("Khmer", _pick(rng, KHMER_FAMILY_NAMES))


def _khmer_given(rng: Random, sex: Sex) -> str:
    syllables = KHMER_SYLLABLES[sex]
    first = _pick(rng, syllables)
    if rng.random() < 0.35:
        return first
    second = _pick(rng, syllables)
    return first if second == first else f"{first} {second}"


def full_name(rng: Random, sex: Sex, family: FamilyName) -> str:
    """A full name for a person of `family` (children share their father's family name)."""
    if family.ethnicity == "Kinh":
        surname = family.family or _KINH_FAMILY.draw(rng)
        middle = _KINH_MIDDLE[sex].draw(rng)
        return f"{surname} {middle} {_pick(rng, KINH_GIVEN_NAMES[sex])}"
    given = _khmer_given(rng, sex)
    if family.family is None:
        return f"{KHMER_PREFIXES[sex]} {given}"
    middle = " Thị" if sex == "female" and rng.random() < 0.5 else ""
    return f"{family.family}{middle} {given}"
