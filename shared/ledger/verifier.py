"""Offline verifier of ledger export bundles.

    python -m shared.ledger.verifier bundle.json [--public-key ledger-key.pem]

Checks, without contacting any service: the Ed25519 signatures on the tree heads and the
export manifest; each event's leaf hash recomputed from its bytes; each inclusion proof
against the signed root; the consistency proof between the earlier and the latest head,
when the bundle has one; that the events are exactly the signed manifest's, in order.
Exit status 0 when everything holds, 1 naming each check that failed, 2 when the bundle
cannot be read at all. Pin the key with ``--public-key`` (``GET /ledger/public-key``);
without it the key inside the bundle is used, and the output says so.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.ledger import merkle
from shared.ledger.evidence import BUNDLE_FORMAT, SignedTreeHead, manifest_signing_input
from shared.ledger.leaf import parse_canonical_event
from shared.ledger.signing import LedgerPublicKey, SignatureInvalid

_MALFORMED = (KeyError, TypeError, ValueError, binascii.Error)


@dataclass
class Verdict:
    """What the verifier found: every failed check, and notes that are not failures."""

    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verified_events: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def verify_bundle(bundle: Any, pinned_key: LedgerPublicKey | None = None) -> Verdict:
    """Check an export bundle (parsed JSON); see the module docstring for what is checked."""
    verdict = Verdict()
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        verdict.failures.append(f"not an export bundle: format is not {BUNDLE_FORMAT!r}")
        return verdict
    key = _public_key(bundle, pinned_key, verdict)
    if key is None:
        return verdict
    head = check_tree_head(bundle.get("tree_head"), "tree head", key, verdict)
    if head is None:
        return verdict
    _check_consistency(bundle, head, key, verdict)
    manifest_leaves = _check_manifest(bundle, head, key, verdict)
    _check_events(bundle.get("events"), manifest_leaves, head, verdict)
    return verdict


def _public_key(
    bundle: Mapping[str, Any], pinned: LedgerPublicKey | None, verdict: Verdict
) -> LedgerPublicKey | None:
    carried: LedgerPublicKey | None = None
    try:
        carried = LedgerPublicKey.from_text(bundle["public_key"]["pem"])
    except _MALFORMED as exc:
        if pinned is None:
            verdict.failures.append(f"the bundle's public key cannot be read: {exc}")
            return None
    if pinned is None:
        assert carried is not None
        verdict.notes.append(
            f"trusting the public key carried in the bundle (key id {carried.key_id}); "
            "pass --public-key with the key published by the audit service to pin it"
        )
        return carried
    if carried is not None and carried.raw != pinned.raw:
        verdict.failures.append(
            f"the bundle's public key (key id {carried.key_id}) is not the pinned key "
            f"(key id {pinned.key_id})"
        )
    return pinned


def check_tree_head(
    document: Any, name: str, key: LedgerPublicKey, verdict: Verdict
) -> SignedTreeHead | None:
    """The tree head in ``document`` (API/bundle JSON); a failure unless ``key`` signed it.

    None when it cannot be read at all; a head whose signature fails is still returned.
    """
    try:
        head = SignedTreeHead.from_json(document)
    except _MALFORMED as exc:
        verdict.failures.append(f"{name} cannot be read: {exc!r}")
        return None
    try:
        head.verify(key)
    except (SignatureInvalid, ValueError):
        verdict.failures.append(
            f"{name} (tree size {head.tree_size}, root {head.root_hash.hex()}): its signature "
            f"does not verify under key {key.key_id}: the head was altered or signed by another key"
        )
    return head


def _hashes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise TypeError("a proof is a list of hex hashes")
    return [bytes.fromhex(v) for v in values]


def _check_consistency(
    bundle: Mapping[str, Any], head: SignedTreeHead, key: LedgerPublicKey, verdict: Verdict
) -> None:
    if bundle.get("earlier_tree_head") is None:
        return
    earlier = check_tree_head(bundle["earlier_tree_head"], "earlier tree head", key, verdict)
    if earlier is None:
        return
    check_consistency(earlier, head, bundle.get("consistency_proof"), verdict)


def check_consistency(
    earlier: SignedTreeHead, later: SignedTreeHead, proof: Any, verdict: Verdict
) -> bool:
    """Whether ``proof`` (hex hashes) shows ``earlier``'s tree a prefix of ``later``'s.

    The roots checked are the heads' own (signed) roots, never ones served with the proof.
    A failure is added to ``verdict`` when it does not hold.
    """
    try:
        merkle.verify_consistency(
            earlier.tree_size, later.tree_size, earlier.root_hash, later.root_hash, _hashes(proof)
        )
        return True
    except merkle.ProofError as exc:
        verdict.failures.append(
            f"consistency from tree size {earlier.tree_size} to {later.tree_size} does not "
            f"hold ({exc}): the earlier tree is not a prefix of the later one"
        )
    except _MALFORMED as exc:
        verdict.failures.append(f"consistency proof cannot be read: {exc!r}")
    return False


def _check_manifest(
    bundle: Mapping[str, Any], head: SignedTreeHead, key: LedgerPublicKey, verdict: Verdict
) -> list[tuple[int, bytes]] | None:
    manifest = bundle.get("manifest")
    try:
        signature = base64.b64decode(bundle["manifest_signature"], validate=True)
        key.verify(signature, manifest_signing_input(manifest))  # type: ignore[arg-type]
    except SignatureInvalid:
        verdict.failures.append(
            "the manifest signature does not verify: the list of exported events, its "
            "subject or its tree head was altered"
        )
    except _MALFORMED as exc:
        verdict.failures.append(f"the manifest or its signature cannot be read: {exc!r}")
        return None
    try:
        assert isinstance(manifest, dict)
        if manifest["tree_size"] != head.tree_size or manifest["root_hash"] != head.root_hash.hex():
            verdict.failures.append(
                f"the manifest names tree size {manifest['tree_size']} root "
                f"{manifest['root_hash']}, the tree head size {head.tree_size} root "
                f"{head.root_hash.hex()}"
            )
        if manifest["subject"] != bundle.get("subject"):
            verdict.failures.append("the manifest is for another subject than the bundle")
        return [(int(m["leaf_index"]), bytes.fromhex(m["leaf_hash"])) for m in manifest["leaves"]]
    except (*_MALFORMED, AssertionError) as exc:
        verdict.failures.append(f"the manifest cannot be read: {exc!r}")
        return None


def _describe(position: int, leaf_index: Any, event_bytes: bytes | None) -> str:
    label = f"event #{position + 1} (leaf {leaf_index}"
    try:
        event = parse_canonical_event(event_bytes or b"")
        label += f", id {event.get('id')}, type {event.get('type')}"
    except (ValueError, UnicodeDecodeError):
        pass
    return label + ")"


def _check_events(
    events: Any,
    manifest: Sequence[tuple[int, bytes]] | None,
    head: SignedTreeHead,
    verdict: Verdict,
) -> None:
    if not isinstance(events, list):
        verdict.failures.append("the bundle has no list of events")
        return
    if manifest is not None and len(events) != len(manifest):
        verdict.failures.append(
            f"the bundle holds {len(events)} event(s) but the signed manifest lists "
            f"{len(manifest)}: an event was removed or added"
        )
    previous: int | None = None
    for position, item in enumerate(events):
        try:
            index = item["leaf_index"]
            if not isinstance(index, int):
                raise TypeError("leaf_index must be an integer")
            event_bytes = base64.b64decode(item["event_bytes"], validate=True)
            proof = _hashes(item["inclusion_proof"])
        except _MALFORMED as exc:
            verdict.failures.append(f"event #{position + 1} cannot be read: {exc!r}")
            continue
        label = _describe(position, index, event_bytes)
        if previous is not None and index <= previous:
            verdict.failures.append(
                f"{label} follows leaf {previous}: events are out of ledger order (reordered "
                "or repeated)"
            )
        previous = index
        leaf = merkle.leaf_hash(event_bytes)
        passed = _matches_manifest(label, position, index, leaf, manifest, verdict)
        try:
            merkle.verify_inclusion(index, head.tree_size, leaf, proof, head.root_hash)
        except merkle.ProofError as exc:
            verdict.failures.append(
                f"{label}: the inclusion proof does not lead to the signed root of tree size "
                f"{head.tree_size} ({exc}): the event bytes, its leaf index or its proof "
                "was altered"
            )
            passed = False
        verdict.verified_events += int(passed)


def _matches_manifest(
    label: str,
    position: int,
    index: int,
    leaf: bytes,
    manifest: Sequence[tuple[int, bytes]] | None,
    verdict: Verdict,
) -> bool:
    if manifest is None or position >= len(manifest):
        return False
    listed_index, listed_hash = manifest[position]
    if listed_index != index:
        verdict.failures.append(
            f"{label}: the manifest lists leaf {listed_index} at this position: events were "
            "removed, added or reordered"
        )
        return False
    if listed_hash != leaf:
        verdict.failures.append(
            f"{label}: its bytes hash to {leaf.hex()}, the manifest says {listed_hash.hex()}: "
            "the event was altered"
        )
        return False
    return True


def _report(verdict: Verdict, bundle: Mapping[str, Any]) -> str:
    lines = [f"note: {note}" for note in verdict.notes]
    if verdict.ok:
        head = bundle["tree_head"]
        lines.append(
            f"OK: {verdict.verified_events} event(s) of subject {bundle.get('subject')} are in "
            f"the ledger under the signed tree head of size {head['tree_size']} "
            f"(root {head['root_hash']}, signed {head['timestamp']})"
        )
        if bundle.get("earlier_tree_head"):
            lines.append(
                f"OK: tree size {bundle['earlier_tree_head']['tree_size']} is a prefix of "
                f"tree size {head['tree_size']}"
            )
    else:
        lines.append(f"FAILED: {len(verdict.failures)} check(s) did not hold:")
        lines.extend(f"  - {failure}" for failure in verdict.failures)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the verifier; return the exit status (0 holds, 1 failed, 2 unreadable)."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.ledger.verifier",
        description="Verify an An Sinh ledger export bundle offline.",
    )
    parser.add_argument("bundle", help="export bundle (JSON) from GET /ledger/export; - for stdin")
    parser.add_argument(
        "--public-key",
        type=Path,
        help="the ledger's public key (PEM, or base64 of the raw 32 bytes) to pin",
    )
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.bundle == "-" else Path(args.bundle).read_text("utf-8")
        bundle = json.loads(text)
        pinned = LedgerPublicKey.from_text(args.public_key.read_text()) if args.public_key else None
    except (OSError, UnicodeDecodeError, *_MALFORMED) as exc:
        print(f"cannot read the bundle or key: {exc}", file=sys.stderr)
        return 2
    verdict = verify_bundle(bundle, pinned)
    print(_report(verdict, bundle), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
