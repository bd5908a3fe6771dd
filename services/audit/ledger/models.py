"""The ledger's tables: append-only, on the audit service's metadata.

The service only ever INSERTs into them, the migration installs triggers that refuse
UPDATE and DELETE (and TRUNCATE on PostgreSQL), and in production the service's role holds
only INSERT and SELECT on them (services/audit/README.md, grants.sql).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.audit.models import Base

#: The append-only tables (guarded by triggers and grants).
LEDGER_TABLES = (
    "ledger_leaves",
    "ledger_nodes",
    "ledger_trail",
    "ledger_tree_heads",
    "ledger_cosignatures",
)


class LedgerLeaf(Base):
    """One consumed event: leaf ``leaf_index`` of the Merkle tree, with its exact bytes."""

    __tablename__ = "ledger_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    ce_type: Mapped[str] = mapped_column(String(200))
    ce_source: Mapped[str] = mapped_column(String(200))
    ce_subject: Mapped[str] = mapped_column(String(200))
    ce_time: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    commune_code: Mapped[str | None] = mapped_column(String(10))
    #: SHA-256(0x00 || event_bytes)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: shared.ledger.leaf.canonical_event_bytes of the event, exactly as hashed.
    event_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    appended_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class LedgerNode(Base):
    """A complete subtree of level >= 1 (level 0 is the leaf hash): written once, when full."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerTrail(Base):
    """Index of the trail: an id (household, person, card, …) and the events naming it."""

    __tablename__ = "ledger_trail"

    subject_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_leaves.leaf_index"), primary_key=True, autoincrement=False
    )


class LedgerTreeHead(Base):
    """A signed tree head: RFC 6962 TreeHeadSignature over (timestamp, size, root), Ed25519."""

    __tablename__ = "ledger_tree_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_id: Mapped[str] = mapped_column(String(64))


class LedgerCosignature(Base):
    """A witness's cosignature (c2sp.org/tlog-cosignature, cosignature/v1) of the checkpoint
    of ``tree_size``: kept as the witness sent it, with the key it verified under."""

    __tablename__ = "ledger_cosignatures"

    tree_size: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_tree_heads.tree_size"), primary_key=True, autoincrement=False
    )
    witness_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(4), primary_key=True)
    #: POSIX seconds the witness signed at (the first 8 bytes of ``signature``).
    timestamp: Mapped[int] = mapped_column(BigInteger)
    #: timestamp (u64, big-endian) || Ed25519 signature: what follows the key hash.
    signature: Mapped[bytes] = mapped_column(LargeBinary(72))
    witness_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
