"""Settings of the housing service (ANSINH_HOUSING_*)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.config import settings_class

SERVICE = "housing"


class HousingSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Housing settings (ANSINH_HOUSING_*): how the commune's approval list is handled.

    Programme figures (cap, rate, term, grace) are versioned data in domain.POLICIES.
    """

    list_posting_working_days: int = 3  # unconfirmed: same default as the review posting
    yearly_quota_per_commune: int = 50  # unconfirmed: the province allocates it
    # Per-commune overrides, e.g. ANSINH_HOUSING_COMMUNE_QUOTAS='{"30511": 12}'.
    commune_quotas: dict[str, int] = Field(default_factory=dict)
    # Public holidays skipped when counting posting days.
    holidays: list[date] = Field(default_factory=list)
