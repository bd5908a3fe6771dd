"""The checked-in contracts match the event models of this repository."""

from __future__ import annotations

from shared.contracts import check
from tests.support import REPO_ROOT


def test_checked_in_contracts_are_current() -> None:
    # A failure here means a model changed without `make contracts` being run.
    assert check(REPO_ROOT) == []
