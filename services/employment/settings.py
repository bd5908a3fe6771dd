"""Employment settings (ANSINH_EMPLOYMENT_*): the service's counting and training policy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

from shared.admin_units import DEFAULT_FILE
from shared.config import settings_class
from shared.service import ServiceRuntime

SERVICE = "employment"


class EmploymentSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Employment settings (ANSINH_EMPLOYMENT_*): counting and training policy."""

    # A worker placed again within the same period counts once towards the targets. The
    # plans count workers given jobs in a year, hence the calendar year by default.
    placement_period: Literal["calendar_month", "calendar_year"] = "calendar_year"
    graduate_placement_window_months: int = 6  # unconfirmed: no source fixes the window
    elementary_course_max_months: int = 3  # sơ cấp: "under 3 months" (docs/domain.md)
    admin_units_file: Path = DEFAULT_FILE


def policy(runtime: ServiceRuntime) -> EmploymentSettings:
    """The employment settings of the running service (placement period, windows)."""
    return cast("EmploymentSettings", runtime.settings)
