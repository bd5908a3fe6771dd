"""What the "verify" button of a timeline fetches: an event's bytes, its proof, the signed head.

These answer the dashboard's own script (``static/verify.js``), authenticated by the
session cookie; they return what the bearer-token API returns (the same functions of
``services.audit.ledger.api``), so the browser checks exactly what any API client would get.
The public key comes from the open ``GET /ledger/public-key``.

``/dashboard/api/verify`` is the server-side check, for browsers that cannot verify
themselves (no WebCrypto outside a secure context, or no Ed25519 in WebCrypto).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from services.audit.dashboard.access import CookieReader
from services.audit.ledger import api
from services.audit.ledger.schemas import InclusionProofOut
from services.audit.ledger.store import LedgerEntry, LedgerStore
from services.audit.ledger.tree_heads import TreeHeadPublisher
from shared.auth import authorize_read
from shared.ledger import merkle as ledger
from shared.ledger.evidence import SignedTreeHead
from shared.ledger.signing import SignatureInvalid
from shared.problems import NotFound
from shared.service import ReadSessionDep, Runtime


async def _never_cached(response: Response) -> None:
    # A proof is checked against the head it came with: a cached copy would be checked
    # instead of what the server holds now.
    response.headers["Cache-Control"] = "no-store"


router = APIRouter(
    prefix="/dashboard/api", include_in_schema=False, dependencies=[Depends(_never_cached)]
)
LeafIndex = Annotated[int, Query(ge=0)]


async def _entry(session: ReadSessionDep, leaf_index: int) -> LedgerEntry:
    entry = await LedgerStore(session).entry(leaf_index)
    if entry is None:
        raise NotFound("That event is not in the ledger.")
    return entry


async def _signed_head_covering(runtime: Runtime, leaf_index: int) -> None:
    """Make sure a signed tree head covers the leaf (an event may be newer than the last
    head). Called before the request's session reads anything, so that its snapshot sees
    a head the publisher signs now."""
    publisher: TreeHeadPublisher = runtime.extras["tree_heads"]
    await publisher.covering(leaf_index + 1)


@router.get("/events/{leaf_index}")
async def event_bytes(
    leaf_index: int, principal: CookieReader, session: ReadSessionDep
) -> dict[str, Any]:
    """The canonical bytes of one ledger leaf (base64), as ``/trail?include_bytes=true``."""
    authorize_read(principal, api.SERVICE, None)
    entry = await _entry(session, leaf_index)
    return {
        "leaf_index": entry.leaf_index,
        "event_id": entry.event_id,
        "event_bytes": base64.b64encode(entry.event_bytes).decode(),
    }


@router.get("/proofs/inclusion", response_model=InclusionProofOut)
async def inclusion_proof(
    leaf_index: LeafIndex, principal: CookieReader, session: ReadSessionDep, runtime: Runtime
) -> InclusionProofOut:
    """The event's audit path to the latest signed tree head, and that head."""
    await _signed_head_covering(runtime, leaf_index)
    return await api.inclusion_proof(principal, session, leaf_index=leaf_index)


@router.get("/verify")
async def verify_on_server(
    leaf_index: LeafIndex, principal: CookieReader, session: ReadSessionDep, runtime: Runtime
) -> dict[str, Any]:
    """The same checks as the script, done here: inclusion and the head's Ed25519 signature."""
    await _signed_head_covering(runtime, leaf_index)
    proof = await api.inclusion_proof(principal, session, leaf_index=leaf_index)
    entry = await _entry(session, leaf_index)
    if proof.tree_head is None:
        raise NotFound("No signed tree head covers that event yet.")
    head = SignedTreeHead.from_json(proof.tree_head.model_dump())
    key = api._key(runtime)
    path = [bytes.fromhex(h) for h in proof.audit_path]
    try:
        ledger.verify_inclusion(
            leaf_index, head.tree_size, ledger.leaf_hash(entry.event_bytes), path, head.root_hash
        )
        included = True
    except ledger.ProofError:
        included = False
    try:
        head.verify(key.public)
        signed = True
    except (SignatureInvalid, ValueError):
        signed = False
    return {
        "leaf_index": leaf_index,
        "tree_size": head.tree_size,
        "root_hash": head.root_hash.hex(),
        "key_id": head.key_id,
        "inclusion": included,
        "signature": signed,
    }
