"""Wiring of the audit service: the ledger consumer on every topic, the API, tree heads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field, SecretStr

from services.audit import dashboard, views_api
from services.audit.handlers import HANDLERS
from services.audit.ledger import api
from services.audit.ledger.tree_heads import TreeHeadPublisher
from services.audit.models import Base, platform
from services.audit.monitoring import evaluate_periodically, start_monitoring
from services.audit.projections import PREFETCH
from shared.config import settings_class
from shared.events import ALL_TOPICS
from shared.ledger.signing import KEY_FILE_NAME, LedgerKey, load_or_create_ledger_key
from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime, create_app

SERVICE = "audit"


class AuditSettings(settings_class(SERVICE)):  # type: ignore[misc]
    """Audit settings (ANSINH_AUDIT_*)."""

    #: How often a new signed tree head is produced while events arrive.
    tree_head_interval_seconds: float = 2.0
    #: The ledger's Ed25519 private key (PKCS#8 PEM); else ledger_signing_key_file.
    ledger_signing_key: SecretStr | None = None
    #: Where the key is kept; default <data dir>/secrets/audit-ed25519.key, created if absent.
    ledger_signing_key_file: Path | None = None
    export_max_events: int = api.DEFAULT_EXPORT_MAX_EVENTS
    #: Secure flag of the dashboard's cookies; None: set when the request came over HTTPS.
    dashboard_secure_cookies: bool | None = None

    # Monitoring views: the service standards findings are measured against (DOMAIN.md;
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


async def load_ledger_key(runtime: ServiceRuntime) -> None:
    """Start-up: the signing key and the tree-head publisher, for the API and the loop."""
    settings = runtime.settings
    if not isinstance(settings, AuditSettings):
        raise TypeError("the audit service runs with AuditSettings")
    key = ledger_key(settings)
    publisher = TreeHeadPublisher(runtime.sessions, key, settings.tree_head_interval_seconds)
    runtime.extras.update(ledger_key=key, tree_heads=publisher)


async def sign_tree_heads(runtime: ServiceRuntime) -> None:
    """Background: a signed tree head at most ``tree_head_interval_seconds`` behind."""
    publisher: TreeHeadPublisher = runtime.extras["tree_heads"]
    await publisher.run()


DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Audit: the verifiable trail of every event",
    metadata=Base.metadata,
    tables=platform,
    routers=[*api.routers, *views_api.routers, *dashboard.routers],
    # Its own topic too: findings it publishes are on the trail like every other event.
    consumers=[
        ConsumerSpec(name="ledger", topics=list(ALL_TOPICS), handlers=HANDLERS, prefetch=PREFETCH)
    ],
    on_startup=[load_ledger_key, start_monitoring],
    background=[sign_tree_heads, evaluate_periodically],
)


def ledger_key(settings: AuditSettings) -> LedgerKey:
    """The configured signing key, or the one generated once under the data directory."""
    if settings.ledger_signing_key is not None:
        return LedgerKey.from_pem(settings.ledger_signing_key.get_secret_value())
    path = settings.ledger_signing_key_file or settings.secret_file(KEY_FILE_NAME)
    return load_or_create_ledger_key(path)


def create(settings: AuditSettings | None = None) -> FastAPI:
    """The audit ASGI app (settings from ANSINH_AUDIT_* unless given)."""
    return create_app(DEFINITION, settings or AuditSettings())
