"""The monitoring's hooks into the service runtime: the service standards from the settings
(at start-up, for the routes and the dashboard), and the periodic evaluation that raises and
clears time-based findings."""

from __future__ import annotations

import asyncio
from dataclasses import fields

from services.audit.monitoring.commands import evaluate
from services.audit.monitoring.domain.standards import AuditPolicy
from shared.config import ServiceSettings
from shared.observability import get_logger
from shared.service import ServiceRuntime

log = get_logger(__name__)

#: AuditSettings field → AuditPolicy field, where the names differ.
_RENAMED = {"public_holidays": "holidays", "clock_date": "clock"}


def audit_policy(settings: ServiceSettings) -> AuditPolicy:
    """The AuditPolicy the settings configure (AuditSettings; defaults for what is absent)."""
    values = {}
    names = {f.name for f in fields(AuditPolicy)}
    for setting, name in [*((n, n) for n in names), *_RENAMED.items()]:
        if name in names and hasattr(settings, setting):
            values[name] = getattr(settings, setting)
    if "holidays" in values:
        values["holidays"] = frozenset(values["holidays"] or ())
    return AuditPolicy(**values)


async def start_monitoring(runtime: ServiceRuntime) -> None:
    """Start-up: the policy, for the API (``runtime.extras["audit_policy"]``) and the loop."""
    runtime.extras["audit_policy"] = audit_policy(runtime.settings)


async def evaluate_periodically(runtime: ServiceRuntime) -> None:
    """Background: evaluate every finding on the audit clock's today, now and then every
    ``findings_interval_seconds`` (a late card becomes a finding the day it is late)."""
    policy: AuditPolicy = runtime.extras.get("audit_policy") or audit_policy(runtime.settings)
    interval = float(getattr(runtime.settings, "findings_interval_seconds", 900.0))
    while True:
        try:
            book = await evaluate(runtime.sessions, as_of=policy.today(), policy=policy)
            if book.raised or book.cleared:
                log.info(
                    "findings.evaluated",
                    as_of=str(book.as_of),
                    raised=book.raised,
                    cleared=book.cleared,
                )
        except Exception as exc:  # database busy or down: try again next round
            log.warning("findings.evaluation_failed", error=repr(exc))
        await asyncio.sleep(interval)
