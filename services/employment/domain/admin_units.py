"""Administrative units with validity dates, and the communes a unit covers in a span."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

UnitLevel = Literal["province", "district", "commune"]


@dataclass(frozen=True)
class AdminUnit:
    """A province, district or commune as it existed from ``valid_from`` to ``valid_to``."""

    code: str
    name: str
    level: UnitLevel
    parent_code: str | None
    valid_from: date | None = None
    valid_to: date | None = None

    def overlaps(self, start: date, end: date) -> bool:
        return (self.valid_from is None or self.valid_from <= end) and (
            self.valid_to is None or self.valid_to >= start
        )


def unit_in_force(
    units: Iterable[AdminUnit], code: str, start: date, end: date
) -> AdminUnit | None:
    """The unit ``code`` as it existed at some time between ``start`` and ``end``."""
    found = [u for u in units if u.code == code and u.overlaps(start, end)]
    return max(found, key=lambda u: u.valid_from or date.min) if found else None


def communes_of(units: Sequence[AdminUnit], code: str, start: date, end: date) -> frozenset[str]:
    """The commune codes a target for unit ``code`` covers between ``start`` and ``end``.

    A commune covers itself; a district the communes that belonged to it at any time in the
    span (so a year in which the district tier was abolished still sees its first half).
    """
    unit = unit_in_force(units, code, start, end)
    if unit is None:
        return frozenset()
    if unit.level == "commune":
        return frozenset({code})
    children = frozenset(
        u.code
        for u in units
        if u.level == "commune" and u.parent_code == code and u.overlaps(start, end)
    )
    if unit.level == "district":
        return children
    districts = [
        u.code
        for u in units
        if u.level == "district" and u.parent_code == code and u.overlaps(start, end)
    ]
    nested = (communes_of(units, d, start, end) for d in districts)
    return children.union(*nested)
