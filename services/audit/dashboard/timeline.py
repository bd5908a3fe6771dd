"""A subject's timeline: its events from the ledger, in time order, ready to show and verify."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.audit.dashboard.i18n import Translator
from services.audit.domain import TRAIL_ID_FIELDS
from services.audit.ledger.store import LedgerEntry, LedgerStore

TRAIL_LIMIT = 500


@dataclass(frozen=True)
class TimelineItem:
    """One event of a timeline, as the ledger holds it."""

    leaf_index: int
    event_id: str
    ce_type: str
    source: str
    subject: str
    time: str
    leaf_hash: str
    data: dict[str, Any]

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    def fields(self) -> list[tuple[str, str, str | None]]:
        """(name, value as text, link to the id's own trail or None) for each data field."""
        shown = []
        for name, value in sorted(self.data.items()):
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            link = f"/dashboard/trail/{value}" if name in TRAIL_ID_FIELDS and value else None
            shown.append((name, text, link))
        return shown


def timeline_item(entry: LedgerEntry) -> TimelineItem:
    event = entry.event()
    return TimelineItem(
        leaf_index=entry.leaf_index,
        event_id=entry.event_id,
        ce_type=str(event["type"]),
        source=str(event["source"]),
        subject=str(event["subject"]),
        time=str(event["time"]),
        leaf_hash=entry.leaf_hash.hex(),
        data=dict(event.get("data") or {}),
    )


async def merged_trail(
    store: LedgerStore, subject_ids: Iterable[str], communes: frozenset[str] | None
) -> tuple[list[TimelineItem], bool]:
    """The events naming any of ``subject_ids`` once each, oldest first; True if cut short."""
    entries: dict[int, LedgerEntry] = {}
    truncated = False
    for subject_id in dict.fromkeys(subject_ids):
        found = await store.trail(subject_id, communes=communes, limit=TRAIL_LIMIT)
        truncated = truncated or len(found) == TRAIL_LIMIT
        entries.update((e.leaf_index, e) for e in found)
    ordered = sorted(entries.values(), key=lambda e: (e.occurred_at, e.leaf_index))
    return [timeline_item(e) for e in ordered], truncated


def verify_messages(t: Translator) -> dict[str, str]:
    """What ``static/verify.js`` writes, in the page's language."""
    keys = (
        "checking", "verified", "verified_server", "verified_server_signature", "failed",
        "error", "detail", "malformed", "outside", "too_long", "too_short", "other_event",
        "no_head", "root_mismatch", "bad_signature",
    )  # fmt: skip
    return {key: t(f"verify.{key}") for key in keys}
