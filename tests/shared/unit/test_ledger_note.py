"""Checkpoints, note signatures and cosignatures byte for byte as c2sp.org specifies them.

The expected bytes are built here from the specs' rules (signed-note, tlog-checkpoint,
tlog-cosignature), not from the module under test; the spec's own example checkpoint and
cosignature line parse to what the spec says they hold."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.ledger.note import (
    Checkpoint,
    NoteError,
    NoteSignature,
    SignedNote,
    cosign,
    cosigned_by,
    key_hash,
    sign_note,
    signed_by,
)
from shared.ledger.signing import LedgerKey

# RFC 8032 §7.1 TEST 1 secret key: deterministic signatures, so golden bytes are stable.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SPEC_BODY = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_NOTE = (
    SPEC_BODY.decode()
    + "\n"
    + "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
    "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    + "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
    "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def _key() -> LedgerKey:
    return LedgerKey(Ed25519PrivateKey.from_private_bytes(SEED))


def test_the_spec_example_checkpoint_parses_and_serialises_to_the_same_bytes() -> None:
    note = SignedNote.parse(SPEC_NOTE)
    checkpoint = Checkpoint.parse(note.body)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.tree_size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.body() == SPEC_BODY
    assert note.text() == SPEC_NOTE
    log, witness = note.signatures
    assert len(log.key_hash) == 4 and len(log.signature) == 64  # Ed25519 note signature
    # The cosignature carries the timestamp of the spec's signed-message example.
    assert witness.name == "witness.example.com/w1"
    assert int.from_bytes(witness.signature[:8], "big") == 1679315147
    assert len(witness.signature) == 8 + 64


def test_a_note_signature_is_the_key_hash_and_ed25519_over_the_text() -> None:
    key = _key()
    name = "ansinh.example/audit"
    raw = key.public.raw
    expected_hash = hashlib.sha256(name.encode() + b"\x0a\x01" + raw).digest()[:4]
    expected_line = (
        "\u2014 " + name + " " + base64.b64encode(expected_hash + key.sign(SPEC_BODY)).decode()
    )
    signature = sign_note(SPEC_BODY, name, key)
    assert key_hash(name, 0x01, key.public) == expected_hash
    assert signature.line() == expected_line + "\n"
    note = SignedNote(SPEC_BODY, (signature,))
    assert note.text().encode() == SPEC_BODY + b"\n" + (expected_line + "\n").encode()
    assert signed_by(SignedNote.parse(note.text()), name, key.public)
    assert not signed_by(note, "another.example/log", key.public)


def test_a_cosignature_v1_covers_header_time_line_and_checkpoint() -> None:
    key = _key()
    name = "witness.example/w1"
    timestamp = 1679315147
    message = b"cosignature/v1\ntime 1679315147\n" + SPEC_BODY
    expected_hash = hashlib.sha256(name.encode() + b"\x0a\x04" + key.public.raw).digest()[:4]
    expected = expected_hash + timestamp.to_bytes(8, "big") + key.sign(message)
    signature = cosign(SPEC_BODY, name, key, timestamp)
    assert signature.line() == f"\u2014 {name} {base64.b64encode(expected).decode()}\n"
    note = SignedNote(SPEC_BODY, (signature,))
    assert cosigned_by(SignedNote.parse(note.text()), name, key.public) == timestamp
    other = SignedNote(SPEC_BODY.replace(b"20852163", b"20852164"), (signature,))
    assert cosigned_by(other, name, key.public) is None


def test_a_checkpoint_with_extension_lines_keeps_them() -> None:
    body = SPEC_BODY + b"extension line\n"
    assert Checkpoint.parse(body).extensions == ("extension line",)
    assert Checkpoint.parse(body).body() == body


@pytest.mark.parametrize(
    "body",
    [
        b"origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        b"origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",  # no final newline
        b"origin\n12\nAAAA\n",  # not 32 bytes
        b"origin\n12\n",
    ],
)
def test_malformed_checkpoints_are_refused(body: bytes) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


def test_a_signature_line_without_the_em_dash_is_refused() -> None:
    with pytest.raises(NoteError):
        NoteSignature.parse("- name AAAAAAAA\n")
