"""Ledger API: the trail of a subject, signed tree heads, proofs, the public key, exports.

Read-only: nothing here writes to the ledger except signing a tree head an export needs
(the publisher's latest head serves unless the exported events are newer), and every
endpoint reads through a read-only session (on SQLite: a snapshot, no write lock).
Who may read what is :mod:`services.audit.ledger.queries`; the public key is open to anyone.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from services.audit.ledger import commands, queries
from services.audit.ledger.queries import DEFAULT_EXPORT_MAX_EVENTS, SERVICE, EntriesPage
from services.audit.ledger.schemas import (
    ConsistencyProofOut,
    CosignatureIn,
    CosignatureOut,
    InclusionProofOut,
    LedgerEntriesPage,
    PublicKeyOut,
    TrailPage,
    TreeHeadOut,
    TreeHeadPage,
)
from services.audit.ledger.tree_heads import TreeHeadPublisher
from shared.auth import CurrentPrincipal, Principal, Role, require_roles
from shared.ledger.evidence import public_key_json
from shared.ledger.signing import LedgerKey
from shared.service import ReadSessionDep, Runtime

__all__ = ["DEFAULT_EXPORT_MAX_EVENTS", "SERVICE", "routers"]

trail_router = APIRouter(tags=["trail"])
ledger_router = APIRouter(prefix="/ledger", tags=["ledger"])

SubjectId = Annotated[str, Query(min_length=1, max_length=200)]
Monitor = Annotated[Principal, Depends(require_roles(Role.INSPECTOR))]
Witness = Annotated[Principal, Depends(require_roles(Role.PARTNER))]


def _key(runtime: Runtime) -> LedgerKey:
    key: LedgerKey = runtime.extras["ledger_key"]
    return key


@trail_router.get("/trail/{subject_id}", response_model=TrailPage)
async def subject_trail(
    subject_id: str,
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    after: Annotated[
        int | None, Query(ge=0, description="next_after of the previous page (a leaf index)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    include_bytes: bool = False,
) -> TrailPage:
    """Every event about a household, person, card, application or worker, in time order."""
    return await queries.trail_page(
        session, principal, subject_id, after=after, limit=limit, include_bytes=include_bytes
    )


@ledger_router.get("/public-key", response_model=PublicKeyOut)
async def public_key(runtime: Runtime) -> PublicKeyOut:
    """The Ed25519 key tree heads and exports are signed with (no token needed)."""
    return PublicKeyOut(**public_key_json(_key(runtime).public))


@ledger_router.get("/tree-heads/latest", response_model=TreeHeadOut)
async def latest_tree_head(principal: CurrentPrincipal, session: ReadSessionDep) -> TreeHeadOut:
    """The most recent signed tree head."""
    return await queries.latest_tree_head(session, principal)


@ledger_router.get("/tree-heads", response_model=TreeHeadPage)
async def tree_heads(
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    size: Annotated[int | None, Query(ge=1, description="only the head of this tree size")] = None,
    before: Annotated[int | None, Query(ge=1, description="next_before of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TreeHeadPage:
    """Signed tree heads, newest first (or the one of a given size)."""
    return await queries.tree_heads(session, principal, size=size, before=before, limit=limit)


@ledger_router.get("/proofs/inclusion", response_model=InclusionProofOut)
async def inclusion_proof(
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    leaf_index: Annotated[int | None, Query(ge=0)] = None,
    event_id: Annotated[str | None, Query(max_length=36)] = None,
    tree_size: Annotated[
        int | None, Query(ge=1, description="default: the latest signed tree head")
    ] = None,
) -> InclusionProofOut:
    """The audit path of one event (by leaf index or event id) to the root of a tree size."""
    return await queries.inclusion_proof(
        session, principal, leaf_index=leaf_index, event_id=event_id, tree_size=tree_size
    )


@ledger_router.get("/proofs/consistency", response_model=ConsistencyProofOut)
async def consistency_proof(
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[
        int | None, Query(ge=1, description="default: the latest signed tree head")
    ] = None,
) -> ConsistencyProofOut:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    return await queries.consistency_proof(session, principal, first=first, second=second)


@ledger_router.get("/export")
async def export_bundle(
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    runtime: Runtime,
    subject: SubjectId,
    from_size: Annotated[
        int | None,
        Query(ge=1, description="a signed tree size the inspector holds: adds a consistency proof"),
    ] = None,
) -> JSONResponse:
    """A bundle for the offline verifier: a subject's events, their proofs, a signed head."""
    publisher: TreeHeadPublisher = runtime.extras["tree_heads"]
    limit = int(getattr(runtime.settings, "export_max_events", DEFAULT_EXPORT_MAX_EVENTS))
    bundle = await queries.export_bundle(
        session,
        principal,
        publisher=publisher,
        key=_key(runtime),
        subject=subject,
        from_size=from_size,
        max_events=limit,
    )
    return JSONResponse(bundle)


@ledger_router.get(
    "/entries", response_model=LedgerEntriesPage, response_class=Response, responses={200: {}}
)
async def entries(
    principal: Monitor,
    session: ReadSessionDep,
    start: Annotated[int, Query(ge=0)] = 0,
    end: Annotated[int | None, Query(ge=0, description="exclusive; at most 10000 leaves")] = None,
    proofs_at: Annotated[
        int | None, Query(ge=1, description="add each leaf's inclusion proof in this tree size")
    ] = None,
) -> Response:
    """The stored leaves ``[start, end)`` as kept — index, exact bytes, stored leaf hash —
    for a monitor to recompute every hash and root (like CT's get-entries); inspector, admin."""
    page = await queries.entries(session, principal, start=start, end=end, proofs_at=proofs_at)
    return Response(_entries_json(page), media_type="application/json")


def _entries_json(page: EntriesPage) -> bytes:
    # Written by hand: a page of 10000 leaves through pydantic costs more than reading it.
    items = []
    for index, leaf_hash, event_bytes in page.rows:
        item = (
            f'{{"leaf_index":{index},"event_bytes":"{base64.b64encode(event_bytes).decode()}",'
            f'"leaf_hash":"{leaf_hash.hex()}"'
        )
        if page.proofs is not None and index in page.proofs:
            item += ',"inclusion_proof":' + json.dumps([h.hex() for h in page.proofs[index]])
        items.append(item + "}")
    following = "null" if page.next_start is None else str(page.next_start)
    return (
        f'{{"start":{page.start},"end":{page.end},"tree_size":{page.tree_size},'
        f'"next_start":{following},"items":[{",".join(items)}]}}'
    ).encode()


@ledger_router.get("/checkpoint", response_class=PlainTextResponse)
async def checkpoint(
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    runtime: Runtime,
    size: Annotated[int | None, Query(ge=1, description="default: the latest signed head")] = None,
) -> PlainTextResponse:
    """The signed head as a C2SP checkpoint (signed note), with the witnesses' cosignatures."""
    note = await queries.checkpoint_note(
        session, principal, key=_key(runtime), origin=_origin(runtime), size=size
    )
    return PlainTextResponse(note.text(), media_type="text/plain; charset=utf-8")


@ledger_router.post("/cosignatures", response_model=CosignatureOut, status_code=201)
async def add_cosignature(
    principal: Witness, runtime: Runtime, cosigned: CosignatureIn
) -> CosignatureOut:
    """A witness's cosignature of a checkpoint it verified (role partner or admin)."""
    return await commands.record_cosignature(
        runtime.sessions, origin=_origin(runtime), log_key=_key(runtime).public, cosigned=cosigned
    )


def _origin(runtime: Runtime) -> str:
    return str(getattr(runtime.settings, "ledger_origin", "ansinh.local/audit-ledger"))


routers = [trail_router, ledger_router]
