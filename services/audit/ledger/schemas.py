"""Response bodies of the ledger API (hashes in hex, signatures and event bytes in base64)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class TrailEntryOut(BaseModel):
    leaf_index: int = Field(description="position of the event in the ledger (Merkle leaf)")
    event_id: str
    type: str
    source: str
    subject: str
    time: str = Field(description="ce_time as published (RFC 3339)")
    commune_code: str | None
    leaf_hash: str = Field(description="SHA-256(0x00 || event_bytes), hex")
    data: dict[str, Any]
    event_bytes: str | None = Field(
        None, description="the canonical bytes the leaf hashes, base64 (include_bytes=true)"
    )


class TrailPage(BaseModel):
    subject_id: str
    items: list[TrailEntryOut]
    next_after: int | None = Field(
        description="pass as ?after= for the next page (the last leaf_index); null at the end"
    )


class TreeHeadOut(BaseModel):
    tree_size: int
    root_hash: str = Field(description="hex")
    timestamp_ms: int
    timestamp: str
    signature: str = Field(
        description="Ed25519 over the RFC 6962 TreeHeadSignature (v1, tree_hash, "
        "timestamp_ms, tree_size, root_hash), base64"
    )
    key_id: str = Field(description="SHA-256 of the raw public key, hex")


class TreeHeadPage(BaseModel):
    items: list[TreeHeadOut]
    next_before: int | None


class InclusionProofOut(BaseModel):
    leaf_index: int
    tree_size: int
    event_id: str
    leaf_hash: str
    audit_path: list[str] = Field(description="RFC 6962 PATH, leaf to root, hex")
    root_hash: str = Field(description="the root the path leads to, hex")
    tree_head: TreeHeadOut | None = Field(description="the signed head of this size, if any")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str] = Field(description="RFC 6962 PROOF(first, D[second]), hex")
    first_tree_head: TreeHeadOut | None
    second_tree_head: TreeHeadOut | None


class PublicKeyOut(BaseModel):
    algorithm: str
    key_id: str
    pem: str = Field(description="SubjectPublicKeyInfo PEM")
    raw_base64: str = Field(description="the 32 raw public-key bytes, base64")


class LedgerEntryOut(BaseModel):
    leaf_index: int
    event_bytes: str = Field(description="the stored canonical bytes, base64, exactly as kept")
    leaf_hash: str = Field(
        description="the stored leaf hash, hex (recompute it: SHA-256(0x00 || bytes))"
    )
    inclusion_proof: list[str] | None = Field(
        None, description="with ?proofs_at=N: RFC 6962 PATH to the tree of N leaves, hex"
    )


class LedgerEntriesPage(BaseModel):
    start: int
    end: int = Field(description="exclusive: the page covers leaf indexes [start, end)")
    tree_size: int = Field(description="how many leaves the store holds (its last index + 1)")
    items: list[LedgerEntryOut] = Field(
        description="the stored rows with an index in [start, end), in index order: a missing "
        "index is a missing row"
    )
    next_start: int | None


class CosignatureIn(BaseModel):
    checkpoint: str = Field(
        max_length=20_000,
        description="the checkpoint (c2sp.org/tlog-checkpoint) with the witness's cosignature "
        "line (c2sp.org/tlog-cosignature, cosignature/v1)",
    )
    witness_name: str = Field(min_length=1, max_length=200, pattern=r"^\S+$")
    witness_key: str = Field(
        max_length=200, description="the witness's Ed25519 public key: base64 of its 32 bytes"
    )


class CosignatureOut(BaseModel):
    tree_size: int
    witness_name: str
    key_hash: str = Field(description="the cosignature's 4-byte key hash, hex")
    timestamp: int = Field(description="POSIX seconds the witness signed at")
