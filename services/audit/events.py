"""Events the audit service publishes on ``ansinh.audit.v1``.

None yet: findings of the monitoring views (``finding_raised``, ``finding_cleared``) will
be declared here with ``@domain_event(SERVICE, "<event_name>")``. Whatever is published
here is consumed back by the service's own ledger consumer, so findings are on the trail.
"""

from __future__ import annotations

SERVICE = "audit"
