"""Settings of the insurance service (ANSINH_INSURANCE_*): what the locality decides."""

from __future__ import annotations

from pydantic import Field

from services.insurance.domain.policies import LocalRules
from shared.config import settings_class

SERVICE = "insurance"


class InsuranceSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Insurance settings (ANSINH_INSURANCE_*): what the locality decides."""

    # Communes designated poor, where the state pays 100% for near-poor households.
    poor_communes: list[str] = Field(default_factory=list)
    near_poor_subsidy_percent: int = Field(70, ge=0, le=100)
    # Unconfirmed (docs/domain.md): how long cover lasts after a household leaves its class.
    # Default: none, so no state-paid card outlives the recognition (none in excess).
    household_exit_grace_days: int = Field(0, ge=0)
    card_validity_months: int = Field(12, ge=1, le=60)
    # Unconfirmed: days from entitlement to an issued card before a person counts as missed.
    service_standard_days: int = Field(30, ge=0)
    province_code: str = Field("89", pattern=r"^\d{2}$")  # An Giang
    sweep_interval_seconds: float = Field(3600.0, gt=0)

    def local_rules(self) -> LocalRules:
        """The rules the domain applies, from these settings."""
        return LocalRules(
            poor_communes=frozenset(self.poor_communes),
            near_poor_percent=self.near_poor_subsidy_percent,
            household_exit_grace_days=self.household_exit_grace_days,
            card_validity_months=self.card_validity_months,
            service_standard_days=self.service_standard_days,
            province_code=self.province_code,
        )
