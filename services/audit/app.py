"""Composition of the audit service: the ledger consumer on every topic, the ledger API,
the monitoring views and findings, the inspector dashboard, tree heads (settings: settings.py)."""

from __future__ import annotations

from fastapi import FastAPI

from services.audit.dashboard.routes import routers as dashboard_routers
from services.audit.dashboard.sign_in import start_sign_in
from services.audit.handlers import HANDLERS
from services.audit.ledger import api
from services.audit.ledger.integrity import LedgerIntegrity
from services.audit.ledger.tree_heads import TreeHeadPublisher
from services.audit.monitoring.api import routers as monitoring_routers
from services.audit.monitoring.projections import PREFETCH
from services.audit.monitoring.runtime import evaluate_periodically, start_monitoring
from services.audit.settings import SERVICE, AuditSettings
from services.audit.tables import metadata, platform
from shared.events import ALL_TOPICS
from shared.ledger.signing import KEY_FILE_NAME, LedgerKey, load_or_create_ledger_key
from shared.service import (
    ConsumerSpec,
    HealthCheck,
    ServiceDefinition,
    ServiceRuntime,
    create_app,
)


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


async def check_ledger_at_start(runtime: ServiceRuntime) -> HealthCheck:
    """Before the consumers start: the store checked in full against its latest signed head."""
    settings = runtime.settings
    if not isinstance(settings, AuditSettings):
        raise TypeError("the audit service runs with AuditSettings")
    integrity = LedgerIntegrity(
        runtime.sessions,
        ledger_key(settings).public,
        interval=settings.ledger_check_interval_seconds,
        full_every=settings.ledger_full_check_seconds,
    )
    await integrity.check(full=True)
    runtime.extras["ledger_integrity"] = integrity
    return integrity


async def check_ledger_periodically(runtime: ServiceRuntime) -> None:
    """Background: the store against its signed heads every ledger_check_interval_seconds."""
    integrity: LedgerIntegrity = runtime.extras["ledger_integrity"]
    await integrity.run()


DEFINITION = ServiceDefinition(
    name=SERVICE,
    title="Audit: the verifiable trail of every event",
    metadata=metadata,
    tables=platform,
    routers=[*api.routers, *monitoring_routers, *dashboard_routers],
    # Its own topic too: findings it publishes are on the trail like every other event.
    consumers=[
        ConsumerSpec(name="ledger", topics=list(ALL_TOPICS), handlers=HANDLERS, prefetch=PREFETCH)
    ],
    on_startup=[load_ledger_key, start_monitoring, start_sign_in],
    health_checks=[check_ledger_at_start],
    background=[sign_tree_heads, evaluate_periodically, check_ledger_periodically],
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
