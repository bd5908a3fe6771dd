"""Settings of the audit service (environment ANSINH_AUDIT_*)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, SecretStr

from shared.config import settings_class

SERVICE = "audit"


class AuditSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Audit settings (ANSINH_AUDIT_*)."""

    #: How often a new signed tree head is produced while events arrive.
    tree_head_interval_seconds: float = 2.0
    #: The ledger's Ed25519 private key (PKCS#8 PEM); else ledger_signing_key_file.
    ledger_signing_key: SecretStr | None = None
    #: Where the key is kept; default <data dir>/secrets/audit-ed25519.key, created if absent.
    ledger_signing_key_file: Path | None = None
    #: How often the service checks its store against its latest signed tree head
    #: (only the leaves appended since the last check), and how often it re-reads all.
    ledger_check_interval_seconds: float = Field(10.0, gt=0)
    ledger_full_check_seconds: float = Field(3600.0, ge=0)
    #: The checkpoint origin line and the log's key name (c2sp.org/tlog-checkpoint).
    ledger_origin: str = Field("ansinh.local/audit-ledger", pattern=r"^\S+$")
    #: Most events one export bundle holds (the export route's DEFAULT_EXPORT_MAX_EVENTS).
    export_max_events: int = 10_000
    #: Secure flag of the dashboard's cookies; None: set when the request came over HTTPS.
    dashboard_secure_cookies: bool | None = None
    #: Whether the login page offers pasting a bearer token (embedded mode, scripts).
    dashboard_token_login: bool = True
    #: Signs the dashboard's own session cookies (sign-in with the provider); shared by every
    #: replica. Else <data dir>/secrets/dashboard-session.key, created if absent.
    dashboard_session_secret: SecretStr | None = None
    #: How long a session started by signing in with the provider lasts.
    dashboard_session_minutes: int = Field(480, gt=0, le=24 * 60)

    # Sign-in with an OpenID Connect provider (authorisation code + PKCE); off without an issuer.
    #: The provider's issuer URL, e.g. https://sso.example.vn/realms/ansinh (discovery below it).
    dashboard_oidc_issuer: str | None = None
    #: The name on the "Sign in with …" button; default: the issuer's host.
    dashboard_oidc_provider_name: str | None = None
    dashboard_oidc_client_id: str | None = None
    dashboard_oidc_client_secret: SecretStr | None = None
    #: Where the provider sends the browser back; default: this server's /login/oidc/callback.
    dashboard_oidc_redirect_url: str | None = None
    dashboard_oidc_scopes: str = "openid profile"
    #: Claims (dotted paths) holding platform roles, gathered from each one present.
    dashboard_oidc_roles_claims: list[str] = Field(
        default_factory=lambda: ["roles", "realm_access.roles"]
    )
    dashboard_oidc_communes_claim: str = "communes"
    dashboard_oidc_services_claim: str = "services"

    # Monitoring views: the service standards findings are measured against (docs/domain.md;
    # figures it marks unconfirmed are defaults to check locally). None: no standard set.
    card_service_standard_days: int = Field(30, ge=0)  # entitlement → card, unconfirmed
    excess_tolerance_days: int = Field(1, ge=0)  # days a card may outlive its entitlement
    complaint_resolution_days: int = Field(30, ge=0)  # unconfirmed
    application_decision_days: int = Field(15, ge=0)
    fall_into_poverty_working_days: int = Field(7, ge=0)
    housing_decision_days: int | None = Field(None, ge=0)
    housing_disbursement_days: int | None = Field(None, ge=0)
    posting_working_days: int = Field(3, ge=0)  # unconfirmed
    public_holidays: list[date] = Field(default_factory=list)
    poor_rate_reduction_pp: float | None = 1.5
    near_poor_rate_reduction_pp: float | None = 1.0
    #: Pins the audit's "today" (replaying a past year); default: the system date.
    clock_date: date | None = None
    #: How often every finding is re-evaluated on today's date.
    findings_interval_seconds: float = Field(900.0, gt=0)
