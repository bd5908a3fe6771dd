"""Tables the audit service owns (its own database; no other service reads them).

``Base`` and the outbox/inbox tables are here. The append-only ``ledger_*`` tables are
:mod:`services.audit.ledger.models` and the rebuildable read models of the monitoring views
:mod:`services.audit.monitoring.models`, both on this ``Base``; :mod:`services.audit.tables`
imports all three, so its ``metadata`` holds every table (app, migrations, create_all).
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata
from shared.outbox import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)
