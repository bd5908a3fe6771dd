"""Keyed pseudonyms of citizen IDs (HMAC-SHA256 with a platform secret, never a plain hash).

A 12-digit citizen ID has only ~10^11 values: an unkeyed hash is reversed by brute force
in minutes, so events and partner files carry HMAC pseudonyms that only holders of the
platform key can compute.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "hs256:"


class Pseudonymizer:
    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("pseudonym secret must be at least 32 characters")
        self._key = secret.encode()

    def of(self, citizen_id: str) -> str:
        """The stable pseudonym of a citizen ID (same ID, same key -> same pseudonym)."""
        digest = hmac.new(self._key, citizen_id.strip().encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest
