"""Dependencies of the insurance routes (typed with ``Annotated``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from services.insurance.domain.entitlements import local_date
from services.insurance.domain.policies import LocalRules
from shared.auth import Principal, require_roles

CommuneQuery = Annotated[str | None, Query(pattern=r"^[0-9]{5}$")]
OnQuery = Annotated[date | None, Query(description="the day to compute for; default today")]
#: Only admins (require_roles() with no roles admits admins alone).
Admin = Annotated[Principal, Depends(require_roles())]


def local_rules(request: Request) -> LocalRules:
    """The locality's rules the app was created with."""
    rules: LocalRules = request.app.state.insurance_rules
    return rules


Rules = Annotated[LocalRules, Depends(local_rules)]


def today() -> date:
    """Today in Vietnam: the default day of a request."""
    return local_date(datetime.now(UTC))
