"""The subjects findings are about, as an entry of the ledger touches them. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Touched:
    """Subjects whose findings an entry may have changed, by finding subject type."""

    reviews: set[str] = field(default_factory=set)
    households: set[str] = field(default_factory=set)
    persons: set[str] = field(default_factory=set)
    complaints: set[str] = field(default_factory=set)
    applications: set[str] = field(default_factory=set)
    housing: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return any(
            (
                self.reviews,
                self.households,
                self.persons,
                self.complaints,
                self.applications,
                self.housing,
            )
        )
