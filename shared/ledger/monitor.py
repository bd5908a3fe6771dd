"""A full audit of a running ledger through its public API, as a CT monitor does it.

Reads every leaf after the verified prefix with the paged ``GET /ledger/entries`` (index,
exact stored bytes, stored leaf hash), recomputes each leaf hash and the root at every
signed tree head it fetches (``GET /ledger/tree-heads``, each signature checked), and
names the first bad leaf index (:mod:`shared.ledger.audit`). What it verified is a
:class:`~shared.ledger.compact.CompactRange`, kept by the caller, so the next run reads
only new leaves; the last verified leaf is read again each run, so removing it shows.

Witnesses: :func:`check_witnesses` reads the checkpoint of the verified head
(``GET /ledger/checkpoint``) and counts the valid cosignatures of trusted witness keys.

The caller supplies the HTTP side (:class:`Source`); failures go into a
:class:`~shared.ledger.verifier.Verdict`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from shared.ledger import merkle
from shared.ledger.audit import BadLeaf, LeafAudit, RootMismatch, first_unproven
from shared.ledger.compact import CompactRange
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.note import Checkpoint, NoteError, SignedNote, cosigned_by, signed_by
from shared.ledger.signing import LedgerPublicKey
from shared.ledger.verifier import Verdict, check_tree_head

PAGE = 10_000
_MALFORMED = (KeyError, TypeError, ValueError, binascii.Error)


class Source(Protocol):
    """GETs against the audit API; None when it failed (the failure is already recorded)."""

    def json(self, path: str, what: str, **params: Any) -> Any | None: ...

    def text(self, path: str, what: str, **params: Any) -> str | None: ...


class _Unreadable(Exception):
    pass


def signed_roots(
    source: Source, key: LedgerPublicKey, after: int, latest: SignedTreeHead, verdict: Verdict
) -> dict[int, bytes]:
    """The signed roots of every head with ``after < tree_size <= latest``, each checked."""
    roots = {latest.tree_size: latest.root_hash}
    before: int | None = latest.tree_size + 1
    while before is not None and before - 1 > after:
        page = source.json("/ledger/tree-heads", "the signed tree heads", before=before, limit=1000)
        if not isinstance(page, dict):
            break
        for document in page.get("items") or []:
            head = check_tree_head(document, "a signed tree head", key, verdict)
            if head is None or not after < head.tree_size <= latest.tree_size:
                continue
            if roots.setdefault(head.tree_size, head.root_hash) != head.root_hash:
                verdict.failures.append(f"two signed roots for tree size {head.tree_size}")
        before = page.get("next_before")
    return roots


def _pages(
    source: Source, start: int, end: int, proofs_at: int | None = None
) -> Iterator[list[tuple[int, bytes, bytes | None, list[bytes]]]]:
    position = start
    while position < end:
        params: dict[str, Any] = {"start": position, "end": min(position + PAGE, end)}
        if proofs_at is not None:
            params["proofs_at"] = proofs_at
        page = source.json("/ledger/entries", f"the ledger entries from leaf {position}", **params)
        if not isinstance(page, dict):
            raise _Unreadable
        try:
            yield [
                (
                    int(item["leaf_index"]),
                    base64.b64decode(item["event_bytes"], validate=True),
                    bytes.fromhex(item["leaf_hash"]),
                    [bytes.fromhex(h) for h in item.get("inclusion_proof") or []],
                )
                for item in page["items"]
            ]
        except _MALFORMED as exc:
            raise _Unreadable from exc
        position = params["end"]


def audit_leaves(
    source: Source,
    verified: CompactRange,
    roots: dict[int, bytes],
    latest: SignedTreeHead,
    verdict: Verdict,
    last_leaf: bytes | None = None,
) -> tuple[CompactRange, bytes | None] | None:
    """Leaves ``[verified.size, latest.tree_size)`` checked against ``roots``: the range
    and last leaf hash now verified, or None with the first bad leaf in ``verdict``."""
    try:
        bad = _recheck_last(source, verified, last_leaf)
        if bad is None:
            return _read(source, verified, roots, latest, verdict, last_leaf)
    except _Unreadable:
        verdict.failures.append("the ledger entries cannot be read")
        return None
    verdict.failures.append(f"first bad leaf index {bad.index}: {bad}")
    return None


def _recheck_last(source: Source, verified: CompactRange, last: bytes | None) -> BadLeaf | None:
    if not verified.size or last is None:
        return None
    index = verified.size - 1
    rows = next(_pages(source, index, index + 1))
    if not rows or rows[0][0] != index:
        return BadLeaf(index, "missing: verified before, no longer in the store")
    if rows[0][2] != last or merkle.leaf_hash(rows[0][1]) != last:
        return BadLeaf(index, "altered since it was verified")
    return None


def _read(
    source: Source,
    verified: CompactRange,
    roots: dict[int, bytes],
    latest: SignedTreeHead,
    verdict: Verdict,
    last_leaf: bytes | None,
) -> tuple[CompactRange, bytes | None] | None:
    audit = LeafAudit(verified, roots)
    bad: BadLeaf | None = None
    for rows in _pages(source, verified.size, latest.tree_size):
        for index, event_bytes, stored_hash, _ in rows:
            bad = audit.feed(index, event_bytes, stored_hash)
            if bad is not None:
                break
            last_leaf = stored_hash
        if bad is not None or not rows:
            break
    bad = bad or audit.finish(latest.tree_size)
    if isinstance(bad, RootMismatch):
        bad = _locate(source, bad, roots[bad.end])
    if bad is not None:
        verdict.failures.append(f"first bad leaf index {bad.index}: {bad}")
        return None
    return audit.range, last_leaf


def _locate(source: Source, mismatch: RootMismatch, root: bytes) -> BadLeaf:
    for rows in _pages(source, mismatch.start & ~1, mismatch.end, proofs_at=mismatch.end):
        found = first_unproven(mismatch, [(i, b, p) for i, b, _, p in rows], root)
        if found is not mismatch:
            return found
    return mismatch


def check_witnesses(
    source: Source,
    key: LedgerPublicKey,
    head: SignedTreeHead,
    witnesses: Sequence[tuple[str, LedgerPublicKey]],
    minimum: int,
    verdict: Verdict,
) -> list[str]:
    """The trusted witnesses (name, key) that validly cosigned ``head``'s checkpoint, as
    report lines; a failure when fewer than ``minimum`` did, or the checkpoint is not
    ``head`` signed by ``key``. Cosignatures by untrusted keys are noted, not counted."""
    text = source.text("/ledger/checkpoint", "the checkpoint", size=head.tree_size)
    if text is None:
        return []
    try:
        note = SignedNote.parse(text)
        checkpoint = Checkpoint.parse(note.body)
    except NoteError as exc:
        verdict.failures.append(f"the checkpoint cannot be read: {exc}")
        return []
    if (checkpoint.tree_size, checkpoint.root_hash) != (head.tree_size, head.root_hash) or (
        not signed_by(note, checkpoint.origin, key)
    ):
        verdict.failures.append(
            f"the checkpoint of tree size {head.tree_size} is not the verified head signed "
            f"by the ledger key under {checkpoint.origin}"
        )
        return []
    held = []
    for name, witness_key in witnesses:
        timestamp = cosigned_by(note, name, witness_key)
        if timestamp is not None:
            held.append(f"witness {name} cosigned tree size {head.tree_size} at {timestamp}")
    trusted = {name for name, _ in witnesses}
    others = sorted({s.name for s in note.signatures} - trusted - {checkpoint.origin})
    if others:
        verdict.notes.append(
            f"cosigned also by {', '.join(others)} (not checked: no --witness-key for them)"
        )
    if len(held) < minimum:
        verdict.failures.append(
            f"{len(held)} trusted witness(es) cosigned tree size {head.tree_size}, "
            f"{minimum} required"
        )
    return held
