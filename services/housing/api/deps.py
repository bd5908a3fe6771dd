"""Dependencies of the housing routes (typed with Annotated, as FastAPI resolves them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.housing.domain import ListPolicy
from shared.service import Runtime, ServiceRuntime


async def install_list_policy(runtime: ServiceRuntime) -> None:
    """Start-up hook: the locality's list policy from the settings, so bad figures fail the
    start instead of the first list."""
    settings = runtime.settings
    runtime.extras["list_policy"] = ListPolicy(
        posting_working_days=getattr(settings, "list_posting_working_days", 3),
        yearly_quota_per_commune=getattr(settings, "yearly_quota_per_commune", 50),
        commune_quotas=dict(getattr(settings, "commune_quotas", {})),
        holidays=frozenset(getattr(settings, "holidays", [])),
    )


async def list_policy(runtime: Runtime) -> ListPolicy:
    """The locality's list policy (built from the settings at start-up)."""
    policy = runtime.extras.get("list_policy")
    return policy if isinstance(policy, ListPolicy) else ListPolicy()


#: How this locality posts and approves its commune lists.
ListRules = Annotated[ListPolicy, Depends(list_policy)]
