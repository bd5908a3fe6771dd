"""Tables the audit service owns (its own database; no other service reads them).

``Base`` and the outbox/inbox tables are here. The append-only ``ledger_*`` tables are
:mod:`services.audit.ledger.models` and the rebuildable read models of the monitoring views
:mod:`services.audit.monitoring.models`, both on this module's metadata (imported at the end,
so ``Base.metadata`` always holds every table: migrations, create_all).
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import new_metadata
from shared.outbox import PlatformTables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)

# Registered here, after Base exists, because both modules build on it.
from services.audit.ledger import models as _ledger_models  # noqa: E402, F401
from services.audit.monitoring import models as _monitoring_models  # noqa: E402, F401
