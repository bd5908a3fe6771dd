"""Settings of the households service (ANSINH_HOUSEHOLDS_*)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.config import settings_class

SERVICE = "households"


class HouseholdsSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Households settings (ANSINH_HOUSEHOLDS_*), review policy defaults from DOMAIN.md."""

    review_agreement_threshold: float = 0.5
    review_quorum_share: float = 0.5  # unconfirmed: no source fixes a quorum
    review_posting_working_days: int = 3  # unconfirmed default
    application_decision_days: int = 15
    fall_into_poverty_working_days: int = 7
    complaint_resolution_days: int = 30  # unconfirmed default
    enforce_periodic_window: bool = True
    # Public holidays are announced year by year, so working-day deadlines take them as data.
    public_holidays: list[date] = Field(default_factory=list)
