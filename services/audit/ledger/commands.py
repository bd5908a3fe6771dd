"""The ledger's write path: recording a consumed event, signing a tree head, keeping a
witness's cosignature.

Recording runs inside the consumer's transaction (the handler's); the others open their own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.ledger.schemas import CosignatureIn, CosignatureOut
from services.audit.ledger.store import LedgerEntry, LedgerStore
from shared.events import CloudEvent
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.note import (
    ED25519_COSIGNATURE,
    Checkpoint,
    NoteError,
    SignedNote,
    cosigned_by,
    signed_by,
)
from shared.ledger.note import key_hash as note_key_hash
from shared.ledger.signing import LedgerKey, LedgerPublicKey
from shared.problems import Conflict, RuleViolation


async def append_to_ledger(
    session: AsyncSession, event: CloudEvent, *, batched: bool = False
) -> LedgerEntry | None:
    """Append ``event`` to the ledger in the caller's transaction: its new entry, or None
    when it is already a leaf (a redelivery: nothing further is owed to it).

    ``batched``: the transaction is a whole batch's, with no savepoint per event (see
    ``HandlerContext.batched``), so the leaf's rows go in with the batch's at its commit.
    Raises ConflictingEvent when the id is already a leaf with other bytes.
    """
    entry, appended = await LedgerStore(session).append(event, deferred=batched)
    return entry if appended else None


async def sign_tree_head(
    sessions: async_sessionmaker[AsyncSession], key: LedgerKey
) -> tuple[SignedTreeHead | None, SignedTreeHead | None]:
    """In a transaction of its own: (the head signed now for the current size, or None if
    the ledger did not grow; the latest head after that, None while the ledger is empty)."""
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        signed = await store.sign_tree_head(key, datetime.now(UTC))
        latest = signed or await store.latest_tree_head()
    return signed, latest


async def record_cosignature(
    sessions: async_sessionmaker[AsyncSession],
    *,
    origin: str,
    log_key: LedgerPublicKey,
    cosigned: CosignatureIn,
) -> CosignatureOut:
    """Keep a witness's cosignature of one of this log's checkpoints, once verified: the
    checkpoint is this log's (origin, its signature, the root it signed for that size) and
    the cosignature verifies under the key the witness names. Raises RuleViolation (422)
    naming the field otherwise, Conflict (409) for a root this log never signed."""
    try:
        note = SignedNote.parse(cosigned.checkpoint)
        checkpoint = Checkpoint.parse(note.body)
        witness_key = LedgerPublicKey.from_text(cosigned.witness_key)
    except (NoteError, ValueError) as exc:
        field = "body.witness_key" if "key" in str(exc) else "body.checkpoint"
        raise RuleViolation(str(exc), field=field) from exc
    if checkpoint.origin != origin or not signed_by(note, origin, log_key):
        raise RuleViolation(f"not a checkpoint signed by {origin}", field="body.checkpoint")
    timestamp = cosigned_by(note, cosigned.witness_name, witness_key)
    if timestamp is None:
        raise RuleViolation(
            f"no valid cosignature/v1 of {cosigned.witness_name} under that key",
            field="body.checkpoint",
        )
    async with sessions() as session, session.begin():
        store = LedgerStore(session)
        head = await store.tree_head(checkpoint.tree_size)
        if head is None or head.root_hash != checkpoint.root_hash:
            raise Conflict(f"this log signed no root {checkpoint.root_hash.hex()} for that size")
        key_hash = note_key_hash(cosigned.witness_name, ED25519_COSIGNATURE, witness_key)
        signature = next(
            s.signature
            for s in note.signatures
            if s.name == cosigned.witness_name and s.key_hash == key_hash
        )
        await store.add_cosignature(
            {
                "tree_size": checkpoint.tree_size,
                "witness_name": cosigned.witness_name,
                "key_hash": key_hash,
                "timestamp": timestamp,
                "signature": signature,
                "witness_key": witness_key.raw,
            }
        )
    return CosignatureOut(
        tree_size=checkpoint.tree_size,
        witness_name=cosigned.witness_name,
        key_hash=key_hash.hex(),
        timestamp=timestamp,
    )
