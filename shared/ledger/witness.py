"""A witness of the audit ledger: a partner agency's check that it never forks or rewinds.

The witness keeps its own Ed25519 key and, per log, the last checkpoint it cosigned
(:class:`WitnessState`). Each run (:func:`witness_once`) fetches the log's latest
checkpoint (``GET /ledger/checkpoint``), checks the log's signature on it, and — if the
tree grew — a consistency proof from the cosigned checkpoint to it
(``GET /ledger/proofs/consistency``), checked against the two checkpoints' own roots. Only
then does it cosign (c2sp.org/tlog-cosignature, ``cosignature/v1``) and POST the
cosignature to the log (``POST /ledger/cosignatures``). A smaller tree, another root at
the same size or a proof that fails is refused (:class:`WitnessRefusal`) and nothing is
signed: a log showing one history to the witness and another to someone else is caught
by whoever checks for the witness's cosignature.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shared.ledger import merkle
from shared.ledger.note import (
    ED25519_COSIGNATURE,
    Checkpoint,
    NoteError,
    SignedNote,
    cosign,
    signed_by,
    verifier_key,
)
from shared.ledger.signing import LedgerKey, LedgerPublicKey


class WitnessRefusal(Exception):
    """The log's checkpoint does not extend what the witness cosigned: nothing signed."""


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint this witness cosigned for one log, and the log's key."""

    origin: str
    log_key: str  # base64 of the 32 raw bytes
    tree_size: int
    root_hash: bytes
    cosigned_at: int

    def as_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "log_key": self.log_key,
            "tree_size": self.tree_size,
            "root_hash": base64.b64encode(self.root_hash).decode(),
            "cosigned_at": self.cosigned_at,
        }

    @classmethod
    def load(cls, path: Path) -> WitnessState | None:
        if not path.exists():
            return None
        document = json.loads(path.read_text("utf-8"))
        return cls(
            origin=str(document["origin"]),
            log_key=str(document["log_key"]),
            tree_size=int(document["tree_size"]),
            root_hash=base64.b64decode(document["root_hash"], validate=True),
            cosigned_at=int(document["cosigned_at"]),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".witness-")
        with os.fdopen(fd, "w") as out:
            json.dump(self.as_json(), out, indent=2)
        os.replace(tmp, path)  # never half a state: a lost one would let a fork through


@dataclass(frozen=True)
class Witness:
    """A witness named ``name`` (its key name in cosignature lines) holding ``key``."""

    name: str
    key: LedgerKey

    @property
    def verifier_key(self) -> str:
        """What verifiers configure to trust this witness (``ansinh verify --witness-key``)."""
        return verifier_key(self.name, ED25519_COSIGNATURE, self.key.public)

    def check(
        self,
        note: SignedNote,
        log_key: LedgerPublicKey,
        state: WitnessState | None,
        proof: Sequence[bytes],
    ) -> Checkpoint:
        """The checkpoint of ``note`` if it may be cosigned, else WitnessRefusal saying why."""
        try:
            checkpoint = Checkpoint.parse(note.body)
        except NoteError as exc:
            raise WitnessRefusal(f"the checkpoint cannot be read: {exc}") from exc
        if state is not None and checkpoint.origin != state.origin:
            raise WitnessRefusal(f"checkpoint of {checkpoint.origin}, not of {state.origin}")
        if not signed_by(note, checkpoint.origin, log_key):
            raise WitnessRefusal(f"the checkpoint is not signed by {checkpoint.origin}'s key")
        if state is None:
            return checkpoint
        if checkpoint.tree_size < state.tree_size:
            raise WitnessRefusal(
                f"rolled back: tree size {checkpoint.tree_size}, {state.tree_size} was cosigned"
            )
        try:
            merkle.verify_consistency(
                state.tree_size,
                checkpoint.tree_size,
                state.root_hash,
                checkpoint.root_hash,
                list(proof),
            )
        except merkle.ProofError as exc:
            raise WitnessRefusal(
                f"forked: tree size {checkpoint.tree_size} root "
                f"{checkpoint.root_hash.hex()} does not extend the cosigned tree size "
                f"{state.tree_size} ({exc})"
            ) from exc
        return checkpoint

    def cosigned(self, note: SignedNote, timestamp: int) -> SignedNote:
        """``note`` with this witness's cosignature added."""
        return note.with_signatures([cosign(note.body, self.name, self.key, timestamp)])


@dataclass(frozen=True)
class Cosigned:
    """What one run cosigned."""

    tree_size: int
    root_hash: bytes
    timestamp: int
    grew_from: int | None


def witness_once(
    client: httpx.Client,
    url: str,
    token: str,
    witness: Witness,
    log_key: LedgerPublicKey,
    state_path: Path,
) -> Cosigned:
    """Fetch, check, cosign and hand back the log's latest checkpoint; the state is saved
    only after the log accepted the cosignature. Raises WitnessRefusal (nothing signed),
    httpx.HTTPError (the log did not answer or refused)."""
    headers = {"Authorization": f"Bearer {token}"}
    state = WitnessState.load(state_path)
    if state is not None and state.log_key != log_key.raw_base64:
        raise WitnessRefusal("the log key is not the one this witness cosigned under before")
    response = client.get(f"{url}/ledger/checkpoint", headers=headers)
    response.raise_for_status()
    try:
        note = SignedNote.parse(response.text)
        size = Checkpoint.parse(note.body).tree_size
    except NoteError as exc:
        raise WitnessRefusal(f"the checkpoint cannot be read: {exc}") from exc
    proof: list[bytes] = []
    if state is not None and 0 < state.tree_size < size:
        answer = client.get(
            f"{url}/ledger/proofs/consistency",
            params={"first": state.tree_size, "second": size},
            headers=headers,
        )
        answer.raise_for_status()
        proof = [bytes.fromhex(h) for h in answer.json()["proof"]]
    checkpoint = witness.check(note, log_key, state, proof)
    timestamp = int(time.time())
    if state is not None:  # never earlier than a cosignature it already made
        timestamp = max(timestamp, state.cosigned_at)
    posted = client.post(
        f"{url}/ledger/cosignatures",
        headers=headers,
        json={
            "checkpoint": witness.cosigned(note, timestamp).text(),
            "witness_name": witness.name,
            "witness_key": witness.key.public.raw_base64,
        },
    )
    posted.raise_for_status()
    WitnessState(
        checkpoint.origin, log_key.raw_base64, checkpoint.tree_size, checkpoint.root_hash, timestamp
    ).save(state_path)
    return Cosigned(
        checkpoint.tree_size,
        checkpoint.root_hash,
        timestamp,
        state.tree_size if state is not None else None,
    )
