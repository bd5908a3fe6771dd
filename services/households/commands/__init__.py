"""The households write path: each command opens its transaction, authorises, applies the
domain rules, changes rows and appends its events to the outbox."""

from __future__ import annotations

from services.households.commands.assessments import (
    Assessed,
    assess,
    assess_household,
    record_assessments,
)
from services.households.commands.registry import (
    add_member,
    build_household,
    create_household,
    new_person,
    read_personal_data,
    reclassify,
    refuse_duplicate_citizen_ids,
    register_household,
)

__all__ = [
    "Assessed",
    "add_member",
    "assess",
    "assess_household",
    "build_household",
    "create_household",
    "new_person",
    "read_personal_data",
    "reclassify",
    "record_assessments",
    "refuse_duplicate_citizen_ids",
    "register_household",
]
