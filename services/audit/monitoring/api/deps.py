"""Dependencies of the monitoring routes: who may read, the query parameters every view
takes, and the service standards in force."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from services.audit.monitoring.domain.standards import AuditPolicy
from shared.auth import Principal, Role, authorize_read, readable_communes, require_roles
from shared.problems import problem_responses
from shared.service import Runtime

SERVICE = "audit"

Reader = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.PARTNER, Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require_roles())]
Year = Annotated[int, Query(ge=2000, le=2100, description="review cycle / plan year")]
Commune = Annotated[str | None, Query(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z]+$")]
AsOf = Annotated[
    date | None,
    Query(description="day of the time-based indicators; default 31 Dec of year or today"),
]
READ_PROBLEMS = problem_responses(403)


def policy_of(runtime: Runtime) -> AuditPolicy:
    """The service standards configured for this service (AuditSettings), as
    :func:`services.audit.monitoring.runtime.start_monitoring` keeps them."""
    policy = runtime.extras.get("audit_policy")
    return policy if isinstance(policy, AuditPolicy) else AuditPolicy()


Policy = Annotated[AuditPolicy, Depends(policy_of)]


def read_scope(principal: Principal, commune_code: str | None) -> frozenset[str] | None:
    """The communes the caller may read (None: all); 403 if ``commune_code`` is not one."""
    authorize_read(principal, SERVICE, commune_code)
    return readable_communes(principal)
