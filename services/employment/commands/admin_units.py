"""Administrative units as data with validity dates (which commune lay in which district when).

The platform ships the Tịnh Biên units (shared/data/admin_units.json) and this service loads
them, or the file named by ``ANSINH_EMPLOYMENT_ADMIN_UNITS_FILE``, at start-up. Loading
adds units not yet present and never deletes, so corrections are new rows with dates.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.domain.admin_units import AdminUnit
from services.employment.models import AdminUnitRow
from shared.admin_units import DEFAULT_FILE as SHARED_ADMIN_UNITS_FILE
from shared.observability import get_logger
from shared.service import ServiceRuntime

DEFAULT_FILE = SHARED_ADMIN_UNITS_FILE
LEVELS = ("province", "district", "commune")
log = get_logger(__name__)


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def read_units_file(path: Path) -> list[tuple[AdminUnit, str | None]]:
    """The units of a JSON file ``{"units": [{code, name, level, parent_code, valid_from,
    valid_to, note}, ...]}``, each with its note; ValueError on a malformed unit."""
    document = json.loads(path.read_text(encoding="utf-8"))
    units = []
    for index, raw in enumerate(document["units"]):
        if raw.get("level") not in LEVELS:
            raise ValueError(f"{path}: units.{index}.level must be one of {', '.join(LEVELS)}")
        unit = AdminUnit(
            code=str(raw["code"]),
            name=str(raw["name"]),
            level=raw["level"],
            parent_code=raw.get("parent_code"),
            valid_from=_date(raw.get("valid_from")),
            valid_to=_date(raw.get("valid_to")),
        )
        units.append((unit, raw.get("note")))
    return units


async def seed_units(session: AsyncSession, path: Path) -> int:
    """Add the file's units missing from the table; return how many were added."""
    present = {
        (code, level, valid_from)
        for code, level, valid_from in (
            await session.execute(
                select(AdminUnitRow.code, AdminUnitRow.level, AdminUnitRow.valid_from)
            )
        )
    }
    added = 0
    for unit, note in read_units_file(path):
        if (unit.code, unit.level, unit.valid_from) in present:
            continue
        session.add(
            AdminUnitRow(
                code=unit.code,
                name=unit.name,
                level=unit.level,
                parent_code=unit.parent_code,
                valid_from=unit.valid_from,
                valid_to=unit.valid_to,
                note=note,
            )
        )
        added += 1
    return added


async def load_admin_units(runtime: ServiceRuntime) -> None:
    """At start-up: add the units of the configured file that the table does not hold yet."""
    path = getattr(runtime.settings, "admin_units_file", DEFAULT_FILE)
    async with runtime.sessions() as session, session.begin():
        added = await seed_units(session, path)
    log.info("admin_units.loaded", file=str(path), added=added)
