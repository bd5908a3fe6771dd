"""Administrative units as data with validity dates (both the historical three-tier and the
current two-tier hierarchy), read from ``shared/data/admin_units.json``.

Reference data shared by every service and tool, so all of them agree on which commune lay
in which district on a given day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

Level = Literal["province", "district", "commune"]
LEVELS: tuple[Level, ...] = ("province", "district", "commune")
DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "admin_units.json"


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """One administrative unit while it existed; `valid_from`/`valid_to` None = open-ended."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    valid_from: date | None
    valid_to: date | None
    confirmed: bool = True
    note: str | None = None

    def covers(self, on: date) -> bool:
        """True when the unit existed on `on`."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on <= self.valid_to
        )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def read_admin_units(path: Path = DEFAULT_FILE) -> tuple[AdminUnit, ...]:
    """The units of a ``{"units": [...]}`` file; ValueError naming a malformed unit."""
    document = json.loads(path.read_text(encoding="utf-8"))
    units = []
    for index, raw in enumerate(document["units"]):
        if raw.get("level") not in LEVELS:
            raise ValueError(f"{path}: units.{index}.level must be one of {', '.join(LEVELS)}")
        units.append(
            AdminUnit(
                code=str(raw["code"]),
                name=str(raw["name"]),
                level=raw["level"],
                parent_code=raw.get("parent_code"),
                valid_from=_date(raw.get("valid_from")),
                valid_to=_date(raw.get("valid_to")),
                confirmed=bool(raw.get("confirmed", True)),
                note=raw.get("note"),
            )
        )
    return tuple(units)


ADMIN_UNITS: tuple[AdminUnit, ...] = read_admin_units()


def admin_units_on(on: date, units: tuple[AdminUnit, ...] = ADMIN_UNITS) -> tuple[AdminUnit, ...]:
    """The units that existed on `on`."""
    return tuple(unit for unit in units if unit.covers(on))


def admin_unit(code: str, on: date, units: tuple[AdminUnit, ...] = ADMIN_UNITS) -> AdminUnit:
    """The unit with `code` on `on`; KeyError naming both when there is none."""
    for unit in units:
        if unit.code == code and unit.covers(on):
            return unit
    raise KeyError(f"no administrative unit {code} on {on.isoformat()}")
