"""What the audit trail records of an event, and under which ids it can be found.

Pure rules, standard library only. The ledger hashes the *canonical bytes* of an event
(:func:`canonical_event_bytes`) and keeps exactly those bytes, so anyone holding them can
recompute the leaf hash offline. The rules the monitoring views re-check are in
:mod:`services.audit.monitoring.domain`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

SPECVERSION = "1.0"

#: The CloudEvents attributes a leaf records, besides ``data``; absent ones are ``null``.
#: Transport-only headers (traceparent, tracestate, content-type) are not part of the event.
LEAF_ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "time", "dataschema")

#: Fields of ``data`` naming a subject whose trail includes the event (besides ``ce_subject``).
TRAIL_ID_FIELDS = ("household_id", "person_id", "card_id", "application_id", "worker_id")

MAX_SUBJECT_ID_LENGTH = 200


def canonical_event_bytes(attributes: Mapping[str, str | None], data: Mapping[str, Any]) -> bytes:
    """The event as the ledger hashes it: UTF-8 JSON, keys sorted, no whitespace.

    The object has exactly the keys of :data:`LEAF_ATTRIBUTES` plus ``data``, e.g.
    ``{"data":{…},"dataschema":"…","id":"…","source":"/ansinh/households",
    "specversion":"1.0","subject":"…","time":"2019-…Z","type":"vn.ansinh.…"}``.
    Non-finite numbers (NaN, Infinity) are not JSON and are refused with ValueError.
    """
    document: dict[str, Any] = {name: attributes.get(name) for name in LEAF_ATTRIBUTES}
    document["specversion"] = document["specversion"] or SPECVERSION
    document["data"] = dict(data)
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def parse_canonical_event(event_bytes: bytes) -> dict[str, Any]:
    """The JSON object stored in a leaf (raises ValueError if the bytes are not one)."""
    document = json.loads(event_bytes.decode("utf-8"))
    if not isinstance(document, dict):
        raise ValueError("a ledger leaf holds a JSON object")
    return document


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
