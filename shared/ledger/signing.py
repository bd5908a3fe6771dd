"""The ledger's Ed25519 key: signs tree heads and export manifests; published for verifiers.

In embedded mode the private key is generated once per data directory
(``secrets/audit-ed25519.key``, PKCS#8 PEM, mode 0600); in production it is configured
(``ANSINH_AUDIT_LEDGER_SIGNING_KEY`` as PEM, or a file path).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE_NAME = "audit-ed25519.key"
ALGORITHM = "Ed25519"


class SignatureInvalid(ValueError):
    """A signature does not verify under the ledger's public key."""


@dataclass(frozen=True)
class LedgerPublicKey:
    """The verifying half of the ledger key, with the encodings the API publishes."""

    key: Ed25519PublicKey

    # Cached: every tree head and export names the key, and encoding it is not free.
    @cached_property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @cached_property
    def raw_base64(self) -> str:
        return base64.b64encode(self.raw).decode()

    @cached_property
    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    @cached_property
    def key_id(self) -> str:
        """SHA-256 of the raw public key, hex: names the key in tree heads and bundles."""
        return hashlib.sha256(self.raw).hexdigest()

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise SignatureInvalid unless ``signature`` is this key's over ``message``."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature as exc:
            raise SignatureInvalid("signature does not verify") from exc

    @classmethod
    def from_text(cls, text: str) -> LedgerPublicKey:
        """A public key from PEM (SubjectPublicKeyInfo) or base64 of the 32 raw bytes."""
        stripped = text.strip()
        if stripped.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(stripped.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("the PEM key is not an Ed25519 public key")
            return cls(key)
        return cls(Ed25519PublicKey.from_public_bytes(base64.b64decode(stripped, validate=True)))


@dataclass(frozen=True)
class LedgerKey:
    """The signing key of the ledger."""

    private: Ed25519PrivateKey

    @cached_property
    def public(self) -> LedgerPublicKey:
        return LedgerPublicKey(self.private.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    @classmethod
    def from_pem(cls, pem: str | bytes) -> LedgerKey:
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the ledger signing key must be an Ed25519 private key")
        return cls(key)


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_or_create_ledger_key(path: Path) -> LedgerKey:
    """The key stored at ``path``, generated (mode 0600) if absent.

    Safe when several processes start at once: the first key written wins and every
    process reads that one (same link-into-place scheme as the JWT secret).
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".ledger-key-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(private_key_pem(Ed25519PrivateKey.generate()))
                tmp.flush()
                os.fsync(tmp.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp_name, path)
        finally:
            os.unlink(tmp_name)
    return LedgerKey.from_pem(path.read_bytes())
