"""Every table the audit service owns, on one metadata: what the app and migrations use.

The tables live beside the code that writes them (``ledger/models.py``,
``monitoring/models.py``) on :class:`services.audit.models.Base`; importing them here, and
not from ``models.py``, keeps the ledger below the monitoring views (import contracts).
"""

from __future__ import annotations

from services.audit.ledger import models as ledger_models
from services.audit.models import Base, platform
from services.audit.monitoring import models as monitoring_models

metadata = Base.metadata

__all__ = ["ledger_models", "metadata", "monitoring_models", "platform"]
