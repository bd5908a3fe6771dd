"""What ``ansinh verify`` checks: the running audit ledger, from the operator's side.

1. The latest signed tree head verifies under the ledger's Ed25519 key (pinned with
   ``--public-key``, else the key kept from the first run: trust on first use).
2. The ledger only grew since the last run: the tree head verified then (kept in
   ``<data-dir>/verified-tree-head.json`` with the key) is a prefix of the latest one, by a
   consistency proof the audit service serves and this side checks.
3. A full audit, as a CT monitor does it (:mod:`shared.ledger.monitor`): every leaf after
   the verified prefix is read through ``GET /ledger/entries``, its hash recomputed from
   its stored bytes, and the root recomputed at every signed head; the first bad leaf
   index is named. The verified prefix is kept as a compact range beside the head, so the
   next run reads only new leaves (and the last verified one again); ``full`` reads all.
4. Which witnesses cosigned the verified head's checkpoint; at least ``min_witnesses`` of
   the trusted witness keys must have.
5. Optionally, a subject's export bundle, checked by the offline verifier pinned to the key.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.auth import Role, mint_token
from shared.events import SERVICES
from shared.ledger.compact import CompactRange
from shared.ledger.evidence import SignedTreeHead, public_key_json
from shared.ledger.monitor import audit_leaves, check_witnesses, signed_roots
from shared.ledger.note import ED25519_COSIGNATURE, parse_verifier_key
from shared.ledger.signing import LedgerPublicKey
from shared.ledger.verifier import Verdict, check_consistency, check_tree_head, verify_bundle

STATE_FILE = "verified-tree-head.json"
_UNREADABLE = (KeyError, TypeError, ValueError)


class AuditUnreachable(Exception):
    """The audit service does not answer; the message says where it was asked."""


@dataclass
class LedgerReport:
    """Every check that held, every one that failed (``verdict.failures``), and notes."""

    state_path: Path
    verdict: Verdict = field(default_factory=Verdict)
    held: list[str] = field(default_factory=list)
    saved: SignedTreeHead | None = None
    #: What the state file held: the verified prefix and its last leaf hash.
    verified: CompactRange = field(default_factory=CompactRange)
    last_leaf: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.ok


def inspector_token(secret: str) -> str:
    """A short-lived inspector token: the ledger endpoints need no more."""
    return mint_token(
        secret,
        subject="local-verify",
        role=Role.INSPECTOR,
        services=SERVICES,
        communes=["*"],
        ttl=timedelta(hours=1),
    )


class _Audit:
    """GETs against the audit API; a non-2xx answer becomes a named failure."""

    def __init__(self, client: httpx.Client, url: str, token: str, report: LedgerReport) -> None:
        self.client, self.url, self.report = client, url, report
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(
        self, path: str, what: str, *, missing_ok: bool = False, **params: Any
    ) -> tuple[int, Any]:
        try:
            response = self.client.get(f"{self.url}{path}", params=params, headers=self.headers)
        except httpx.HTTPError as exc:
            raise AuditUnreachable(
                f"the audit service at {self.url} does not answer: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.is_success and not (missing_ok and response.status_code == 404):
            detail = body.get("detail") if isinstance(body, dict) else response.text[:200]
            self.report.verdict.failures.append(
                f"{what}: GET {path} answered {response.status_code} ({detail})"
            )
        return response.status_code, body

    def json(self, path: str, what: str, **params: Any) -> Any | None:
        status, body = self.get(path, what, **params)
        return body if 200 <= status < 300 else None

    def text(self, path: str, what: str, **params: Any) -> str | None:
        try:
            response = self.client.get(f"{self.url}{path}", params=params, headers=self.headers)
        except httpx.HTTPError as exc:
            raise AuditUnreachable(
                f"the audit service at {self.url} does not answer: {exc}"
            ) from exc
        if not response.is_success:
            self.report.verdict.failures.append(
                f"{what}: GET {path} answered {response.status_code}"
            )
            return None
        return response.text


@dataclass(frozen=True)
class Trust:
    """What a run trusts besides the state file: a pinned key, witnesses, a full re-read."""

    public_key: LedgerPublicKey | None = None
    witnesses: Sequence[tuple[str, LedgerPublicKey]] = ()
    min_witnesses: int = 0
    full: bool = False


def verify_trust(
    public_key: Path | None, witness_keys: Sequence[Path], min_witnesses: int, full: bool
) -> Trust:
    """The :class:`Trust` of ``ansinh verify``'s options (raises ValueError/OSError if a
    key file cannot be read)."""
    pinned = LedgerPublicKey.from_text(public_key.read_text()) if public_key else None
    witnesses = [parse_verifier_key(path.read_text(), ED25519_COSIGNATURE) for path in witness_keys]
    return Trust(pinned, witnesses, min_witnesses, full)


def verify_ledger(
    client: httpx.Client,
    audit_url: str,
    token: str,
    data_dir: Path,
    subject: str | None,
    trust: Trust | None = None,
) -> LedgerReport:
    """Run the checks of the module docstring against the audit service at ``audit_url``."""
    trust = trust or Trust()
    report = LedgerReport(data_dir / STATE_FILE)
    audit = _Audit(client, audit_url, token, report)
    verdict = report.verdict
    status, key_doc = audit.get("/ledger/public-key", "the ledger's public key")
    if status != 200:
        return report
    try:
        served_key = LedgerPublicKey.from_text(key_doc["pem"])
    except _UNREADABLE as exc:
        verdict.failures.append(f"the served public key cannot be read: {exc!r}")
        return report
    trusted = _load_trusted(report)
    key = trust.public_key or (trusted[0] if trusted else served_key)
    if trusted and trust.public_key and trusted[0].raw != trust.public_key.raw:
        verdict.failures.append(
            f"the pinned key {trust.public_key.key_id} is not the key {trusted[0].key_id} "
            f"verified before; delete {report.state_path} to verify under the pinned key"
        )
    if key.raw != served_key.raw:
        verdict.failures.append(
            f"the audit service serves key {served_key.key_id}, not the key "
            f"{key.key_id} trusted; if it was rotated on purpose, delete "
            f"{report.state_path} (or pin the new key) to trust it"
        )
    status, head_doc = audit.get(
        "/ledger/tree-heads/latest", "the latest tree head", missing_ok=True
    )
    if status == 404:
        if trusted:
            verdict.failures.append(
                f"the ledger serves no tree head, yet tree size {trusted[1].tree_size} was "
                "verified before: its history was removed"
            )
        else:
            verdict.notes.append(
                "no tree head signed yet (the ledger is empty, or its first head is due "
                "within the signing interval): nothing to verify yet"
            )
        return report
    if status != 200:
        return report
    failures_before = len(verdict.failures)
    latest = check_tree_head(head_doc, "the latest tree head", key, verdict)
    if latest is None:
        return report
    if len(verdict.failures) == failures_before:
        report.held.append(
            f"the latest tree head (size {latest.tree_size}, root {latest.root_hash.hex()}, "
            f"signed {head_doc.get('timestamp')}) is signed by key {key.key_id}"
        )
    if trusted:
        _check_growth(audit, trusted[1], latest, report)
    elif not report.state_path.exists() and trust.public_key is None:
        verdict.notes.append(
            f"first run on {report.state_path.parent}: trusting the served key {key.key_id} "
            f"and tree head of size {latest.tree_size} as they are (trust on first use); "
            "later runs prove the ledger only grew from this head"
        )
    audited = _audit_leaves(audit, key, latest, report, trust)
    held = check_witnesses(audit, key, latest, trust.witnesses, trust.min_witnesses, verdict)
    report.held.extend(held)
    if subject is not None:
        _check_subject(audit, subject, key, report)
    if report.ok and audited is not None:
        _save_trusted(report.state_path, audit_url, key, latest, audited)
        report.saved = latest
    return report


def _audit_leaves(
    audit: _Audit, key: LedgerPublicKey, latest: SignedTreeHead, report: LedgerReport, trust: Trust
) -> tuple[CompactRange, bytes | None] | None:
    """Every leaf after the verified prefix (all with ``trust.full``), read and recomputed."""
    verified, last = (CompactRange(), None) if trust.full else (report.verified, report.last_leaf)
    if verified.size > latest.tree_size:
        return None  # rolled back: _check_growth named it
    roots = signed_roots(audit, key, verified.size, latest, report.verdict)
    audited = audit_leaves(audit, verified, roots, latest, report.verdict, last)
    if audited is not None:
        report.held.append(
            f"every leaf 0..{latest.tree_size - 1} hashes to the signed roots: "
            f"{latest.tree_size - verified.size} leaf/leaves read and recomputed from their "
            f"stored bytes, the roots of {len(roots)} signed head(s) recomputed"
        )
    return audited


def _check_growth(
    audit: _Audit, earlier: SignedTreeHead, latest: SignedTreeHead, report: LedgerReport
) -> None:
    verdict = report.verdict
    if earlier.tree_size > latest.tree_size:
        verdict.failures.append(
            f"first bad leaf index {latest.tree_size}: the ledger was rolled back: tree size "
            f"{earlier.tree_size} was verified before, the latest head has {latest.tree_size}"
        )
        return
    proof: Any = []
    if earlier.tree_size < latest.tree_size:
        status, body = audit.get(
            "/ledger/proofs/consistency",
            "the consistency proof",
            first=earlier.tree_size,
            second=latest.tree_size,
        )
        if status != 200:
            return
        proof = body.get("proof") if isinstance(body, dict) else None
    if check_consistency(earlier, latest, proof, verdict):
        report.held.append(
            f"tree size {earlier.tree_size} verified before is a prefix of tree size "
            f"{latest.tree_size}: the ledger only grew, no history was rewritten"
        )


def _check_subject(audit: _Audit, subject: str, key: LedgerPublicKey, report: LedgerReport) -> None:
    status, bundle = audit.get(
        "/ledger/export", f"the export of subject {subject}", subject=subject
    )
    if status != 200:
        return
    found = verify_bundle(bundle, pinned_key=key)
    report.verdict.failures.extend(f"subject {subject}: {failure}" for failure in found.failures)
    report.verdict.notes.extend(found.notes)
    if found.ok and found.verified_events == 0:
        report.verdict.notes.append(f"the ledger holds no event of subject {subject}")
    elif found.ok:
        head = bundle["tree_head"]
        report.held.append(
            f"{found.verified_events} event(s) of subject {subject} are in the ledger under the "
            f"signed tree head of size {head['tree_size']} (export bundle verified offline)"
        )


def _load_trusted(report: LedgerReport) -> tuple[LedgerPublicKey, SignedTreeHead] | None:
    """The key and tree head verified last time; None (first use) or a failure if unreadable."""
    path = report.state_path
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text("utf-8"))
        key = LedgerPublicKey.from_text(state["public_key"]["pem"])
    except (OSError, UnicodeDecodeError, *_UNREADABLE) as exc:
        report.verdict.failures.append(
            f"{path} cannot be read ({exc!r}); delete it to trust the ledger anew"
        )
        return None
    # The file is evidence too: a head in it must carry the ledger's signature.
    head = check_tree_head(state.get("tree_head"), f"the tree head in {path}", key, report.verdict)
    if head is None:
        return None
    try:  # a file from before the full audit has no range: everything is read once
        verified = CompactRange.from_json(state["verified_range"])
        last = state.get("last_leaf_hash")
        if verified.size == head.tree_size and verified.root() == head.root_hash:
            report.verified = verified
            report.last_leaf = bytes.fromhex(last) if last else None
    except (KeyError, *_UNREADABLE):
        pass
    return key, head


def _save_trusted(
    path: Path,
    audit_url: str,
    key: LedgerPublicKey,
    head: SignedTreeHead,
    audited: tuple[CompactRange, bytes | None],
) -> None:
    verified, last = audited
    state = {
        "audit_url": audit_url,
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "public_key": public_key_json(key),
        "tree_head": head.as_json(),
        "verified_range": verified.as_json(),
        "last_leaf_hash": last.hex() if last else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".verified-")
    try:
        with os.fdopen(fd, "w") as tmp:
            json.dump(state, tmp, indent=2)
        os.replace(tmp_name, path)  # never half a file, even when interrupted
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
