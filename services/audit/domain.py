"""Under which ids the audit trail finds an event, and the commune and time it concerns.

Pure rules, standard library only. What a ledger leaf holds (an event's canonical bytes)
is the ledger's format, :mod:`shared.ledger.leaf`; the rules the monitoring views re-check
are in :mod:`services.audit.monitoring.domain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: Fields of ``data`` naming a subject whose trail includes the event (besides ``ce_subject``).
TRAIL_ID_FIELDS = ("household_id", "person_id", "card_id", "application_id", "worker_id")

MAX_SUBJECT_ID_LENGTH = 200


def trail_ids(subject: str, data: Mapping[str, Any]) -> set[str]:
    """Every id whose trail shows the event: its subject and the ids its data names."""
    ids = {subject}
    for name in TRAIL_ID_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            ids.add(value)
    return {i for i in ids if 0 < len(i) <= MAX_SUBJECT_ID_LENGTH}


def commune_of(data: Mapping[str, Any]) -> str | None:
    """The commune an event concerns, when its data says (``commune_code``)."""
    value = data.get("commune_code")
    return value if isinstance(value, str) and value else None


def occurred_at(ce_time: str) -> datetime:
    """The event time (RFC 3339) as an aware UTC datetime."""
    return datetime.fromisoformat(ce_time.replace("Z", "+00:00")).astimezone(UTC)
