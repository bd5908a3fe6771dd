"""The checked-in contracts match the event models of this repository."""

from __future__ import annotations

from pathlib import Path

from shared.contracts import check

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_contracts_are_current() -> None:
    # A failure here means a model changed without `make contracts` being run.
    assert check(REPOSITORY_ROOT) == []
