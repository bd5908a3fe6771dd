"""The administrative hierarchy the drill-down follows, as it stood on a given day.

Before 1 July 2025 a commune lay in a district of a province; from then on directly in a
(merged) province (``shared/data/admin_units.json``). Events keep the commune code they
were recorded with, so a code may name a unit that no longer exists: it keeps its last name.
"""

from __future__ import annotations

from datetime import date

from shared.admin_units import ADMIN_UNITS, AdminUnit, admin_units_on


def top_units(on: date) -> list[AdminUnit]:
    """The provinces of ``on``."""
    return [u for u in admin_units_on(on) if u.parent_code is None]


def unit(code: str, on: date) -> AdminUnit | None:
    """The unit with ``code`` on ``on``, else the last one that had the code."""
    current = [u for u in admin_units_on(on) if u.code == code]
    if current:
        return current[0]
    earlier = [u for u in ADMIN_UNITS if u.code == code]
    return max(earlier, key=lambda u: u.valid_to or date.max, default=None)


def children(code: str, on: date) -> list[AdminUnit]:
    """The units directly under ``code`` on ``on``, by name."""
    return sorted((u for u in admin_units_on(on) if u.parent_code == code), key=lambda u: u.name)


def communes_under(code: str, on: date) -> list[AdminUnit]:
    """Every commune under ``code`` (through districts where there are any) on ``on``."""
    found: list[AdminUnit] = []
    for child in children(code, on):
        found.extend([child] if child.level == "commune" else communes_under(child.code, on))
    return found


def lineage(code: str, on: date) -> list[AdminUnit]:
    """The unit and the units above it, province first (breadcrumbs)."""
    chain: list[AdminUnit] = []
    current = unit(code, on)
    while current is not None and len(chain) < 4:
        chain.insert(0, current)
        if current.parent_code is None:
            break
        on_parent = current.valid_to if current.valid_to and current.valid_to < on else on
        current = unit(current.parent_code, on_parent)
    return chain


def area_name(code: str | None, on: date) -> str:
    """The unit's name (``code`` itself when unknown)."""
    if code is None:
        return ""
    found = unit(code, on)
    return found.name if found is not None else code
