"""What the ledger hands out as evidence: signed tree heads and export bundles.

An export bundle (``GET /ledger/export``) is a JSON document an inspector can check
offline with ``python -m shared.ledger.verifier bundle.json``::

    {"format": "ansinh.audit.bundle/1",
     "subject": "<id>",
     "public_key": {"algorithm": "Ed25519", "key_id": hex, "pem": "...", "raw_base64": "..."},
     "tree_head": {"tree_size", "root_hash" (hex), "timestamp_ms", "timestamp",
                   "signature" (base64), "key_id"},
     "events": [{"leaf_index", "event_bytes" (base64), "inclusion_proof": [hex, ...]}, ...],
     "earlier_tree_head": <tree head> | null,
     "consistency_proof": [hex, ...] | null,       # earlier_tree_head -> tree_head
     "manifest": {"format", "subject", "communes", "tree_size", "root_hash",
                  "leaves": [{"leaf_index", "leaf_hash"}, ...], "exported_at"},
     "manifest_signature": base64}

Events are in ledger order (leaf index ascending). The manifest, signed with the ledger
key, fixes which leaves the export holds and in which order, so dropping or reordering an
event is detected even though each remaining event still has a valid inclusion proof.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.ledger import merkle
from shared.ledger.signing import ALGORITHM, LedgerKey, LedgerPublicKey

BUNDLE_FORMAT = "ansinh.audit.bundle/1"
MANIFEST_CONTEXT = b"ansinh.audit.export-manifest/1\n"


@dataclass(frozen=True)
class SignedTreeHead:
    """Tree size, root hash and time, signed with the ledger's Ed25519 key."""

    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    signature: bytes
    key_id: str

    def signing_input(self) -> bytes:
        return merkle.tree_head_signing_input(self.tree_size, self.timestamp_ms, self.root_hash)

    def as_json(self) -> dict[str, Any]:
        """The head as the API and bundles show it (hex hash, base64 signature)."""
        moment = datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp_ms": self.timestamp_ms,
            "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "signature": base64.b64encode(self.signature).decode(),
            "key_id": self.key_id,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SignedTreeHead:
        """Parse :meth:`as_json` output (raises ValueError/KeyError/TypeError if malformed)."""
        size, timestamp = document["tree_size"], document["timestamp_ms"]
        if not isinstance(size, int) or not isinstance(timestamp, int):
            raise ValueError("tree_size and timestamp_ms must be integers")
        return cls(
            tree_size=size,
            root_hash=bytes.fromhex(document["root_hash"]),
            timestamp_ms=timestamp,
            signature=base64.b64decode(document["signature"], validate=True),
            key_id=str(document["key_id"]),
        )

    def verify(self, key: LedgerPublicKey) -> None:
        """Raise SignatureInvalid (or ValueError) unless ``key`` signed this head."""
        key.verify(self.signature, self.signing_input())


def sign_tree_head(
    key: LedgerKey, tree_size: int, root: bytes, timestamp_ms: int
) -> SignedTreeHead:
    """A new head for the tree of ``tree_size`` leaves with root ``root``."""
    message = merkle.tree_head_signing_input(tree_size, timestamp_ms, root)
    return SignedTreeHead(tree_size, root, timestamp_ms, key.sign(message), key.public.key_id)


def public_key_json(key: LedgerPublicKey) -> dict[str, str]:
    return {
        "algorithm": ALGORITHM,
        "key_id": key.key_id,
        "pem": key.pem,
        "raw_base64": key.raw_base64,
    }


def manifest_signing_input(manifest: Mapping[str, Any]) -> bytes:
    """The bytes a manifest signature covers: a context line, then canonical JSON."""
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return MANIFEST_CONTEXT + body.encode("utf-8")


@dataclass(frozen=True)
class ExportedLeaf:
    """One event of an export: where it is in the ledger and its exact bytes."""

    leaf_index: int
    event_bytes: bytes
    inclusion_proof: Sequence[bytes]


def build_bundle(
    *,
    key: LedgerKey,
    subject: str,
    communes: Sequence[str] | None,
    tree_head: SignedTreeHead,
    leaves: Sequence[ExportedLeaf],
    exported_at: datetime,
    earlier_tree_head: SignedTreeHead | None = None,
    consistency_proof: Sequence[bytes] | None = None,
) -> dict[str, Any]:
    """The export bundle of ``leaves`` (in ledger order) against ``tree_head``, signed."""
    manifest = {
        "format": BUNDLE_FORMAT,
        "subject": subject,
        "communes": sorted(communes) if communes is not None else None,
        "tree_size": tree_head.tree_size,
        "root_hash": tree_head.root_hash.hex(),
        "leaves": [
            {"leaf_index": leaf.leaf_index, "leaf_hash": merkle.leaf_hash(leaf.event_bytes).hex()}
            for leaf in leaves
        ],
        "exported_at": exported_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    return {
        "format": BUNDLE_FORMAT,
        "subject": subject,
        "public_key": public_key_json(key.public),
        "tree_head": tree_head.as_json(),
        "events": [
            {
                "leaf_index": leaf.leaf_index,
                "event_bytes": base64.b64encode(leaf.event_bytes).decode(),
                "inclusion_proof": [h.hex() for h in leaf.inclusion_proof],
            }
            for leaf in leaves
        ],
        "earlier_tree_head": earlier_tree_head.as_json() if earlier_tree_head else None,
        "consistency_proof": (
            [h.hex() for h in consistency_proof] if consistency_proof is not None else None
        ),
        "manifest": manifest,
        "manifest_signature": base64.b64encode(key.sign(manifest_signing_input(manifest))).decode(),
    }
