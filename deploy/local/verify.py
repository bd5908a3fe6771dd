"""What ``ansinh verify`` checks: the running audit ledger, from the operator's side.

1. The latest signed tree head verifies under the ledger's Ed25519 key.
2. The ledger only grew since the last run: the tree head verified then (kept in
   ``<data-dir>/verified-tree-head.json`` with the key) is a prefix of the latest one, by a
   consistency proof the audit service serves and this side checks. The first run trusts
   the key and head it is served (trust on first use) and says so.
3. Optionally, a subject's export bundle, checked by the offline verifier pinned to the key.

The proofs and signatures are checked by :mod:`shared.ledger.verifier`; nothing here
recomputes a hash.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.auth import Role, mint_token
from shared.events import SERVICES
from shared.ledger.evidence import SignedTreeHead, public_key_json
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


def verify_ledger(
    client: httpx.Client, audit_url: str, token: str, data_dir: Path, subject: str | None
) -> LedgerReport:
    """Run the checks of the module docstring against the audit service at ``audit_url``."""
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
    key = trusted[0] if trusted else served_key
    if trusted and trusted[0].raw != served_key.raw:
        verdict.failures.append(
            f"the audit service now serves key {served_key.key_id}, not the key "
            f"{key.key_id} verified before; if it was rotated on purpose, delete "
            f"{report.state_path} to trust the new one"
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
    elif not report.state_path.exists():
        verdict.notes.append(
            f"first run on {report.state_path.parent}: trusting the served key {key.key_id} "
            f"and tree head of size {latest.tree_size} as they are (trust on first use); "
            "later runs prove the ledger only grew from this head"
        )
    if subject is not None:
        _check_subject(audit, subject, key, report)
    if report.ok:
        _save_trusted(report.state_path, audit_url, key, latest)
        report.saved = latest
    return report


def _check_growth(
    audit: _Audit, earlier: SignedTreeHead, latest: SignedTreeHead, report: LedgerReport
) -> None:
    verdict = report.verdict
    if earlier.tree_size > latest.tree_size:
        verdict.failures.append(
            f"the ledger shrank: tree size {earlier.tree_size} was verified before, the latest "
            f"head has {latest.tree_size}: its history was rewritten"
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
    return key, head


def _save_trusted(path: Path, audit_url: str, key: LedgerPublicKey, head: SignedTreeHead) -> None:
    state = {
        "audit_url": audit_url,
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "public_key": public_key_json(key),
        "tree_head": head.as_json(),
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
