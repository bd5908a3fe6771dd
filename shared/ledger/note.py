"""C2SP signed notes, checkpoints and cosignatures: the log's heads as witnesses see them.

- A *signed note* (c2sp.org/signed-note): UTF-8 text ending in a newline, a blank line,
  then one line per signature ``— <key name> <base64(key hash || signature)>``. An Ed25519
  key hash is ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; the signature covers
  the text (up to and including its last newline).
- A *checkpoint* (c2sp.org/tlog-checkpoint) is a note whose text is the log's origin line,
  its tree size in decimal and its root hash in base64, each newline-terminated.
- A *cosignature* (c2sp.org/tlog-cosignature, ``cosignature/v1``) is a witness's note
  signature on a checkpoint: key hash ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``,
  then a big-endian u64 POSIX timestamp and the Ed25519 signature over
  ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint text.

Pure functions and values; keys are :mod:`shared.ledger.signing`'s Ed25519 keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from shared.ledger import merkle
from shared.ledger.signing import LedgerKey, LedgerPublicKey, SignatureInvalid

ED25519_NOTE = 0x01
ED25519_COSIGNATURE = 0x04
COSIGNATURE_HEADER = b"cosignature/v1\n"
_DASH = "\u2014 "


class NoteError(ValueError):
    """Text that is not a well-formed signed note or checkpoint."""


def key_hash(name: str, signature_type: int, public_key: LedgerPublicKey) -> bytes:
    """The 4-byte key hash naming ``public_key`` under ``name`` in signature lines."""
    material = name.encode() + b"\n" + bytes([signature_type]) + public_key.raw
    return hashlib.sha256(material).digest()[:4]


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte hash, then what follows it."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_hash + self.signature).decode()}\n"

    @classmethod
    def parse(cls, line: str) -> NoteSignature:
        if not line.startswith(_DASH):
            raise NoteError(f"a signature line starts with an em dash and a space: {line!r}")
        name, _, encoded = line[len(_DASH) :].rstrip("\n").rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError(f"signature of {name!r} is not base64") from exc
        if not name or " " in name or len(raw) < 5:
            raise NoteError(f"malformed signature line {line!r}")
        return cls(name, raw[:4], raw[4:])


@dataclass(frozen=True)
class Checkpoint:
    """The log's state as a checkpoint states it (extension lines kept, not interpreted)."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode()]
        return "".join(f"{line}\n" for line in [*lines, *self.extensions]).encode()

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        try:
            lines = body.decode("utf-8").split("\n")
        except UnicodeDecodeError as exc:
            raise NoteError("a checkpoint is UTF-8") from exc
        if len(lines) < 4 or lines[-1] != "" or any(line == "" for line in lines[:-1]):
            raise NoteError("a checkpoint is origin, size and root hash lines, newline-terminated")
        origin, size, root = lines[:3]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"tree size {size!r} is not a decimal without leading zeros")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error as exc:
            raise NoteError("the root hash is not base64") from exc
        if len(root_hash) != merkle.HASH_SIZE:
            raise NoteError("the root hash is not 32 bytes")
        return cls(origin, int(size), root_hash, tuple(lines[3:-1]))


@dataclass(frozen=True)
class SignedNote:
    """A note's text and its signature lines."""

    body: bytes
    signatures: tuple[NoteSignature, ...]

    def text(self) -> str:
        return self.body.decode() + "\n" + "".join(s.line() for s in self.signatures)

    def with_signatures(self, extra: Sequence[NoteSignature]) -> SignedNote:
        known = {(s.name, s.key_hash) for s in self.signatures}
        added = tuple(s for s in extra if (s.name, s.key_hash) not in known)
        return SignedNote(self.body, self.signatures + added)

    @classmethod
    def parse(cls, text: str) -> SignedNote:
        body, separator, signatures = text.partition("\n\n")
        if not separator or not signatures.endswith("\n"):
            raise NoteError("a signed note is text, a blank line, newline-terminated signatures")
        lines = signatures[:-1].split("\n")
        return cls((body + "\n").encode(), tuple(NoteSignature.parse(line) for line in lines))


def sign_note(body: bytes, name: str, key: LedgerKey) -> NoteSignature:
    """The Ed25519 note signature of ``key`` named ``name`` on ``body``."""
    return NoteSignature(name, key_hash(name, ED25519_NOTE, key.public), key.sign(body))


def signed_by(note: SignedNote, name: str, key: LedgerPublicKey) -> bool:
    """Whether ``note`` carries a valid Ed25519 note signature of ``key`` named ``name``."""
    expected = key_hash(name, ED25519_NOTE, key)
    for signature in note.signatures:
        if signature.name == name and signature.key_hash == expected:
            try:
                key.verify(signature.signature, note.body)
                return True
            except SignatureInvalid:
                return False
    return False


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` signature covers."""
    if not 0 <= timestamp < 2**63:
        raise ValueError("a cosignature timestamp is a u64 below 2**63")
    return COSIGNATURE_HEADER + f"time {timestamp}\n".encode() + body


def cosign(body: bytes, name: str, key: LedgerKey, timestamp: int) -> NoteSignature:
    """A witness's ``cosignature/v1`` on the checkpoint ``body`` at POSIX time ``timestamp``."""
    signature = key.sign(cosigned_message(body, timestamp))
    hashed = key_hash(name, ED25519_COSIGNATURE, key.public)
    return NoteSignature(name, hashed, timestamp.to_bytes(8, "big") + signature)


def cosignature_time(body: bytes, signature: NoteSignature, key: LedgerPublicKey) -> int | None:
    """The timestamp of ``signature`` if it is ``key``'s valid cosignature of ``body``."""
    if signature.key_hash != key_hash(signature.name, ED25519_COSIGNATURE, key):
        return None
    if len(signature.signature) != 8 + 64:
        return None
    timestamp = int.from_bytes(signature.signature[:8], "big")
    try:
        key.verify(signature.signature[8:], cosigned_message(body, timestamp))
    except (SignatureInvalid, ValueError):
        return None
    return timestamp


def cosigned_by(note: SignedNote, name: str, key: LedgerPublicKey) -> int | None:
    """The timestamp of the valid cosignature of witness ``name`` with ``key``, if any."""
    for signature in note.signatures:
        if signature.name == name:
            found = cosignature_time(note.body, signature, key)
            if found is not None:
                return found
    return None


def verifier_key(name: str, signature_type: int, key: LedgerPublicKey) -> str:
    """The key as a signed-note verifier key: ``<name>+<hex key hash>+<base64(type || key)>``."""
    encoded = base64.b64encode(bytes([signature_type]) + key.raw).decode()
    return f"{name}+{key_hash(name, signature_type, key).hex()}+{encoded}"


def parse_verifier_key(text: str, signature_type: int) -> tuple[str, LedgerPublicKey]:
    """(name, key) of a verifier key of ``signature_type`` (raises NoteError otherwise)."""
    name, plus, rest = text.strip().partition("+")
    hashed, plus_again, encoded = rest.partition("+")
    try:
        raw = base64.b64decode(encoded, validate=True)
        if not (plus and plus_again and name) or len(raw) != 33 or raw[0] != signature_type:
            raise ValueError("not a verifier key of this type")
        key = LedgerPublicKey.from_text(base64.b64encode(raw[1:]).decode())
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"not an Ed25519 verifier key of type {signature_type:#04x}") from exc
    if hashed != key_hash(name, signature_type, key).hex():
        raise NoteError("the verifier key's hash does not match its name and key")
    return name, key
