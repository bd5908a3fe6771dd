"""What a ledger leaf holds: the canonical bytes of one event.

The ledger hashes the *canonical bytes* of an event (:func:`canonical_event_bytes`) and
keeps exactly those bytes, so anyone holding them can recompute the leaf hash offline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.events import CloudEvent

SPECVERSION = "1.0"

#: The CloudEvents attributes a leaf records, besides ``data``; absent ones are ``null``.
#: Transport-only headers (traceparent, tracestate, content-type) are not part of the event.
LEAF_ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "time", "dataschema")


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


def leaf_attributes(event: CloudEvent) -> dict[str, str | None]:
    """The :data:`LEAF_ATTRIBUTES` of a consumed event."""
    return {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
        "dataschema": event.dataschema,
    }


def event_bytes(event: CloudEvent) -> bytes:
    """The canonical bytes of a consumed event (its leaf, before hashing)."""
    return canonical_event_bytes(leaf_attributes(event), event.data)


def parse_canonical_event(event_bytes: bytes) -> dict[str, Any]:
    """The JSON object stored in a leaf (raises ValueError if the bytes are not one)."""
    document = json.loads(event_bytes.decode("utf-8"))
    if not isinstance(document, dict):
        raise ValueError("a ledger leaf holds a JSON object")
    return document
