"""The commune's approval list: its public posting before approval and the yearly quota,
as the locality configures them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.workdays import posting_end


def posting_period_end(posted_on: date, working_days: int, holidays: Collection[date] = ()) -> date:
    """Last day of the public posting; the posting day counts when it is a working day."""
    return posting_end(posted_on, working_days, holidays)


def approval_blocker(posting_ends_on: date, approve_on: date) -> str | None:
    """Why the list may not be approved on ``approve_on`` (None: it may)."""
    if approve_on <= posting_ends_on:
        return (
            f"the list is publicly posted until {posting_ends_on.isoformat()}: "
            f"approve from {(posting_ends_on + timedelta(days=1)).isoformat()}"
        )
    return None


@dataclass(frozen=True)
class ListPolicy:
    """How a commune's approval list is posted and approved (configurable per locality).

    - posting_working_days: days the list stays publicly posted before approval.
      UNCONFIRMED default 3, as the poverty review's posting.
    - yearly_quota_per_commune: approvals per commune per year. UNCONFIRMED default 50;
      ``commune_quotas`` overrides it for named communes (the province's allocation).
    """

    posting_working_days: int = 3
    yearly_quota_per_commune: int = 50
    commune_quotas: Mapping[str, int] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.posting_working_days < 0 or self.yearly_quota_per_commune < 0:
            raise ValueError("posting days and quotas must be ≥ 0")
        if any(q < 0 for q in self.commune_quotas.values()):
            raise ValueError("commune quotas must be ≥ 0")

    def quota_for(self, commune_code: str) -> int:
        return self.commune_quotas.get(commune_code, self.yearly_quota_per_commune)
